// create: time from `tsctl service create --replicas 50` to 50 running tasks, against the floor of
// 50 sequential `runc run -d` of the same image (raw runc, no orchestration) in the same run, and
// against Docker Swarm when a dockerd can be started here.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ms, now, run, startNode, table } from "./lib.mjs";

const replicas = Number(process.env.BENCH_REPLICAS ?? 50);

/** runcFloor starts n containers with plain runc from a shared read-only rootfs, then removes them. */
async function runcFloor(rootfs, n) {
  const dir = join("/tmp", `runc-floor-${process.pid}`);
  const root = join(dir, "state");
  await mkdir(dir, { recursive: true });
  await run("runc", ["spec", "--bundle", dir]);
  const { readFile } = await import("node:fs/promises");
  const spec = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
  spec.root = { path: rootfs, readonly: true };
  spec.process.terminal = false;
  spec.process.args = ["sleep", "3600"];
  await writeFile(join(dir, "config.json"), JSON.stringify(spec));
  const ids = [];
  const t0 = now();
  try {
    for (let i = 0; i < n; i++) {
      const id = `floor-${process.pid}-${i}`;
      await run("runc", ["--root", root, "run", "-d", "--bundle", dir, id], { stdio: "ignore" });
      ids.push(id);
    }
    return ms(t0);
  } finally {
    for (const id of ids) await run("runc", ["--root", root, "delete", "--force", id]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}


async function runBench() {
  const node = await startNode();
  try {
    const layers = join(node.dir, "data/images/layers");
    const { readdir } = await import("node:fs/promises");
    const layerDirs = (await readdir(layers)).filter((d) => !d.startsWith("."));
    if (layerDirs.length !== 1) throw new Error(`expected the one busybox layer, found ${layerDirs.length}`);
    const floorMs = await runcFloor(join(layers, layerDirs[0]), replicas);

    const t0 = now();
    await node.cli("service", "create", "--name", "bench", "--replicas", String(replicas), "busybox:latest", "sleep", "3600");
    const createMs = ms(t0);
    const { stdout } = await node.cli("service", "ls", "--format", "json");
    const replicasShown = JSON.parse(stdout)[0]?.Replicas;

    const t1 = now();
    await node.cli("service", "scale", "bench=10");
    const scaleDownMs = ms(t1);
    const t2 = now();
    await node.cli("service", "scale", `bench=${replicas}`);
    const scaleUpMs = ms(t2);
    await node.cli("service", "rm", "bench");
    for (let i = 0; i < 300; i++) {
      const { stdout: left } = await node.cli("container", "ls", "-a", "-q");
      if (!left.trim()) break;
      await new Promise((r) => setTimeout(r, 200));
    }

    console.log(`\nbench create: ${replicas} replicas of busybox \`sleep 3600\` on one node (${replicasShown} after create)`);
    table([
      ["measure", "time", "ratio vs runc floor"],
      [`${replicas} × sequential runc run -d (floor)`, `${(floorMs / 1000).toFixed(2)} s`, "1.00×"],
      [`tsctl service create --replicas ${replicas}`, `${(createMs / 1000).toFixed(2)} s`, `${(createMs / floorMs).toFixed(2)}×`],
      [`tsctl service scale 10 → ${replicas}`, `${(scaleUpMs / 1000).toFixed(2)} s`, `${(scaleUpMs / ((floorMs * (replicas - 10)) / replicas)).toFixed(2)}× (vs ${replicas - 10} runc)`],
      [`tsctl service scale ${replicas} → 10`, `${(scaleDownMs / 1000).toFixed(2)} s`, "-"],
      ["Docker Swarm", "not measured", await dockerStatus()],
    ]);
  } finally {
    await node.stop().catch(() => undefined);
    await node.cleanup();
  }
}

async function dockerStatus() {
  try {
    await run("sh", ["-c", "command -v dockerd"]);
    return "dockerd present but the swarm bench is not wired yet";
  } catch {
    return "no dockerd on this machine (Debian docker.io not installed)";
  }
}

export { runBench as run };
