// create: time from `tsctl service create --replicas 50` to 50 running tasks, against the floor of
// 50 sequential `runc run -d` of the same image (raw runc, no orchestration) in the same run, and
// against Docker Swarm when a dockerd can be started here.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { dockerSkipReason, measureSwarmCreate, startDockerSwarm } from "./docker-swarm.mjs";
import { ms, now, repoRoot, run, runDetached, startNode, table } from "./lib.mjs";

const replicas = Number(process.env.BENCH_REPLICAS ?? 50);
// Each figure is the median of several rounds: a 2-core machine makes single runs noisy.
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** medians turns a list of {k: ms} records into one record of per-key medians. */
function medians(records) {
  return Object.fromEntries(Object.keys(records[0]).map((k) => [k, median(records.map((r) => r[k]))]));
}

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
      // spawn with stdio ignored: execFile would wait for the detached container to close the pipes.
      await runDetached("runc", ["--root", root, "run", "-d", "--bundle", dir, id]);
      ids.push(id);
    }
    return ms(t0);
  } finally {
    for (const id of ids) await run("runc", ["--root", root, "delete", "--force", id]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}


/** settle waits for the machine to go quiet between measured steps (exits, cgroup teardown). */
function settle() {
  return new Promise((r) => setTimeout(r, 2000));
}

/** tsctlRound times create, scale down, scale up, then removes the service and waits for it. */
async function tsctlRound(node) {
  const t0 = now();
  await node.cli("service", "create", "--name", "bench", "--stop-grace-period", "1s", "--replicas", String(replicas), "busybox:latest", "sleep", "3600");
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
  return { createMs, scaleUpMs, scaleDownMs, replicasShown };
}

async function runBench() {
  const node = await startNode();
  let floorMs, tsctl, replicasShown;
  try {
    const layers = join(node.dir, "data/images/layers");
    const { readdir } = await import("node:fs/promises");
    const layerDirs = (await readdir(layers)).filter((d) => !d.startsWith("."));
    if (layerDirs.length !== 1) throw new Error(`expected the one busybox layer, found ${layerDirs.length}`);
    const floors = [];
    const results = [];
    for (let round = 0; round < rounds; round++) {
      floors.push(await runcFloor(join(layers, layerDirs[0]), replicas));
      // Let the kernel finish tearing the previous containers down before timing the next step.
      await settle();
      results.push(await tsctlRound(node));
      await settle();
    }
    floorMs = median(floors);
    replicasShown = results[0].replicasShown;
    tsctl = medians(results.map(({ replicasShown: _, ...times }) => times));
  } finally {
    await node.stop().catch(() => undefined);
    await node.cleanup();
  }

  // Docker Swarm, after tsd is gone: same replicas, same busybox tar, same machine.
  const docker = await dockerSwarm(replicas);

  const secs = (v) => `${(v / 1000).toFixed(2)} s`;
  const upFloorMs = (floorMs * (replicas - 10)) / replicas;
  const vsDocker = (key) => (docker.result ? `${(tsctl[key] / docker.result[key]).toFixed(2)}×` : "-");
  const rows = [
    ["measure", "time", "ratio vs runc floor", "tsctl ÷ docker"],
    [`${replicas} × sequential runc run -d (floor)`, secs(floorMs), "1.00×", "-"],
    [`tsctl service create --replicas ${replicas}`, secs(tsctl.createMs), `${(tsctl.createMs / floorMs).toFixed(2)}×`, vsDocker("createMs")],
    [`tsctl service scale 10 → ${replicas}`, secs(tsctl.scaleUpMs), `${(tsctl.scaleUpMs / upFloorMs).toFixed(2)}× (vs ${replicas - 10} runc)`, vsDocker("scaleUpMs")],
    [`tsctl service scale ${replicas} → 10`, secs(tsctl.scaleDownMs), "-", vsDocker("scaleDownMs")],
  ];
  if (docker.result) {
    const d = docker.result;
    rows.push(
      [`docker service create --replicas ${replicas}`, secs(d.createMs), `${(d.createMs / floorMs).toFixed(2)}×`, "-"],
      [`docker service scale 10 → ${replicas}`, secs(d.scaleUpMs), `${(d.scaleUpMs / upFloorMs).toFixed(2)}× (vs ${replicas - 10} runc)`, "-"],
      [`docker service scale ${replicas} → 10`, secs(d.scaleDownMs), "-", "-"],
    );
  } else {
    rows.push(["Docker Swarm", "not measured", docker.reason, "-"]);
  }
  console.log(`\nbench create: ${replicas} replicas of busybox \`sleep 3600\` on one node (${replicasShown} after create); medians of ${rounds} rounds`);
  if (docker.result) console.log(`Docker Swarm: ${docker.about}; docker times run until converged, polled every 100 ms like tsctl's CLI`);
  table(rows);
}

/** dockerSwarm measures the same create/scale sequence on a private Docker Swarm: {result, about} or {reason}. */
async function dockerSwarm(n) {
  let swarm;
  try {
    swarm = await startDockerSwarm();
    if (!swarm) return { reason: dockerSkipReason };
    await swarm.loadImage(join(repoRoot, ".cache/busybox.tar"));
    const runs = [];
    for (let round = 0; round < rounds; round++) {
      await settle();
      runs.push(await measureSwarmCreate(swarm, "busybox:latest", n));
    }
    const result = medians(runs);
    return { result, about: `dockerd ${swarm.version} (${swarm.storageDriver}), single-node swarm on 127.0.0.1` };
  } catch (err) {
    const why = String(err.stderr || err.message).trim().split("\n").pop();
    console.log(`docker swarm: failed: ${why}`);
    return { reason: `failed: ${why}` };
  } finally {
    await swarm?.stop().catch((err) => console.log(`docker swarm: stop failed: ${err.message}`));
  }
}

export { dockerSwarm, runBench as run };
