// pull: cold and warm pull of a ~100 MB, 6-layer image (busybox + 5 layers of 20 MiB incompressible
// bytes, written by big-image.mjs and pushed with skopeo, so gzip gains nothing) from Debian's
// docker-registry on loopback (plain HTTP), measured in the same run three ways:
//   tsctl    `tsctl image pull` on a scratch tsd (--insecure-registry): download, verify, unpack
//   skopeo   `skopeo copy docker://… dir:…`: download and verify only, no unpacking (a floor)
//   docker   `docker pull` on a private dockerd (insecure-registries set): download, unpack
// Cold: no layer of the image present (removed after each round, and checked gone). Warm: the image
// present, so every layer is "Already exists" and the pull is a manifest round trip. Each figure is
// the median of BENCH_ROUNDS rounds (3); the rounds interleave the tools.
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeBigImage } from "./big-image.mjs";
import { dockerSkipReason, startDockerSwarm } from "./docker-swarm.mjs";
import { ms, now, repoRoot, run as exec, startNode, table } from "./lib.mjs";
import { seed, startRegistry } from "../test/harness/registry.mjs";

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const LAYERS = 5;
const LAYER_MIB = 20;

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const secs = (v) => `${(v / 1000).toFixed(2)} s`;
const spread = (v) => `${secs(Math.min(...v))}–${secs(Math.max(...v))}`;

/** listDir names a directory's entries (none when it does not exist). */
async function listDir(dir) {
  return existsSync(dir) ? (await readdir(dir)).filter((n) => !n.startsWith(".")).sort() : [];
}

/** storeContents is what tsd's image store holds on disk: content-store blobs and unpacked layers. */
async function storeContents(node) {
  const root = join(node.dir, "data/images");
  return { blobs: await listDir(join(root, "blobs/sha256")), layers: await listDir(join(root, "layers")) };
}

/** expectOutput fails the bench when a command's output lacks what proves it did the intended work. */
function expectOutput(what, stdout, re) {
  if (!re.test(stdout)) throw new Error(`${what}: output does not match ${re}:\n${stdout}`);
}

/** tsctlNode starts a scratch tsd that reaches the registry over plain HTTP. */
function tsctlNode(regHost) {
  return startNode({ tsdArgs: ["--insecure-registry", regHost] });
}

/**
 * dockerd starts the private dockerd of docker-swarm.mjs and lists the registry in its
 * insecure-registries (daemon.json, reloaded with SIGHUP: a reloadable option), checked in /info.
 * Returns {handle, about} or {reason}.
 */
async function dockerd(regHost) {
  const handle = await startDockerSwarm();
  if (!handle) return { reason: dockerSkipReason };
  try {
    const configFile = join(handle.dir, "daemon.json");
    const config = JSON.parse(await readFile(configFile, "utf8"));
    await writeFile(configFile, JSON.stringify({ ...config, "insecure-registries": [regHost] }) + "\n");
    const pid = Number((await readFile(join(handle.dir, "dockerd.pid"), "utf8")).trim());
    process.kill(pid, "SIGHUP");
    for (let i = 0; ; i++) {
      const info = await handle.api("/info");
      if (info.RegistryConfig?.IndexConfigs?.[regHost]?.Secure === false) break;
      if (i > 50) throw new Error(`dockerd did not take insecure-registries ${regHost} on reload`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await handle.loadImage(join(repoRoot, ".cache/busybox.tar"));
    return { handle, about: `dockerd ${handle.version} (${handle.storageDriver}), insecure-registries ${regHost}` };
  } catch (err) {
    await handle.stop().catch(() => undefined);
    return { reason: `setup failed: ${String(err.stderr || err.message).trim().split("\n").pop()}` };
  }
}

export async function run() {
  const work = await mkdtemp("/tmp/bench-pull.");
  let reg;
  let node;
  let docker;
  const cleanup = async () => {
    await node?.stop().catch(() => undefined);
    await node?.cleanup().catch(() => undefined);
    await docker?.handle?.stop().catch((err) => console.log(`docker: stop failed: ${err.message}`));
    await reg?.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  };
  const onSignal = (signal) => {
    console.log(`pull: ${signal}: cleaning up`);
    cleanup().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const archive = join(work, "big.tar");
    await writeBigImage(archive, { layers: LAYERS, layerBytes: LAYER_MIB << 20 });
    reg = await startRegistry();
    const { digest } = await seed(reg, { ref: "bench/big:1", archive });
    const ref = `${reg.host}/bench/big:1`;
    // skopeo's policy: accept anything (the default policy may not exist on this machine).
    const policy = join(work, "policy.json");
    await writeFile(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
    const skopeo = (dest) => exec("skopeo", ["copy", "--quiet", "--policy", policy, "--src-tls-verify=false", `docker://${ref}`, `dir:${dest}`], { maxBuffer: 16 << 20 });

    // The registry's compressed sizes, for throughput: skopeo's dir copy holds the manifest as served.
    await skopeo(join(work, "probe"));
    const manifest = JSON.parse(await readFile(join(work, "probe", "manifest.json"), "utf8"));
    const wireBytes = manifest.layers.reduce((n, l) => n + l.size, 0) + manifest.config.size;
    await rm(join(work, "probe"), { recursive: true, force: true });

    node = await tsctlNode(reg.host);
    docker = await dockerd(reg.host);

    const t = { tsctlCold: [], tsctlWarm: [], skopeoCold: [], dockerCold: [], dockerWarm: [], tsctlStart: [] };
    let freshRoots = 0;
    for (let round = 0; round < rounds; round++) {
      // tsctl: cold, warm, then image rm, which must take every blob and layer of the image with it.
      const before = await storeContents(node);
      let t0 = now();
      const cold = await node.cli("image", "pull", ref);
      t.tsctlCold.push(ms(t0));
      expectOutput("tsctl cold pull", cold.stdout, new RegExp(`Status: Downloaded newer image for ${ref.replace(/[.]/g, "\\.")}`));
      t0 = now();
      const warm = await node.cli("image", "pull", ref);
      t.tsctlWarm.push(ms(t0));
      expectOutput("tsctl warm pull", warm.stdout, /Status: Image is up to date/);
      await node.cli("image", "rm", ref);
      const after = await storeContents(node);
      if (JSON.stringify(after) !== JSON.stringify(before)) {
        // image rm kept some of the image: the next round would not be cold. Start over on a fresh data root.
        console.log(`pull: round ${round + 1}: image rm left ${after.blobs.length - before.blobs.length} blob(s), ${after.layers.length - before.layers.length} layer(s) behind; fresh tsd for the next round`);
        freshRoots++;
        await node.stop();
        await node.cleanup();
        node = await tsctlNode(reg.host);
      }

      // The CLI's own start-up, part of every tsctl figure (node loading the bundled CLI).
      t0 = now();
      await exec(join(repoRoot, "bin/tsctl"), ["--version"]);
      t.tsctlStart.push(ms(t0));

      // skopeo: download into an empty dir (nothing unpacked).
      const dest = join(work, `skopeo-${round}`);
      t0 = now();
      await skopeo(dest);
      t.skopeoCold.push(ms(t0));
      await rm(dest, { recursive: true, force: true });

      if (docker.handle) {
        const d = docker.handle;
        t0 = now();
        const dc = await d.docker("pull", ref);
        t.dockerCold.push(ms(t0));
        expectOutput("docker cold pull", dc.stdout, /Status: Downloaded newer image/);
        t0 = now();
        const dw = await d.docker("pull", ref);
        t.dockerWarm.push(ms(t0));
        expectOutput("docker warm pull", dw.stdout, /Status: Image is up to date/);
        await d.docker("image", "rm", ref);
      }
    }

    const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.length ? median(v) : undefined]));
    const mbps = (v) => `${((wireBytes / (1 << 20)) / (v / 1000)).toFixed(0)} MiB/s`;
    const ratio = (a, b) => (a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}×` : "-");
    const rows = [
      ["measure", "median", "spread (min–max)", "throughput", "tsctl ÷ this"],
      ["tsctl image pull, cold (download + verify + unpack)", secs(m.tsctlCold), spread(t.tsctlCold), mbps(m.tsctlCold), "1.00×"],
      ["skopeo copy → dir:, cold (download + verify, NO unpack)", secs(m.skopeoCold), spread(t.skopeoCold), mbps(m.skopeoCold), ratio(m.tsctlCold, m.skopeoCold)],
    ];
    if (docker.handle) rows.push(["docker pull, cold (download + verify + unpack)", secs(m.dockerCold), spread(t.dockerCold), mbps(m.dockerCold), ratio(m.tsctlCold, m.dockerCold)]);
    else rows.push(["docker pull", "not measured", docker.reason, "-", "-"]);
    rows.push(["tsctl image pull, warm (all layers present)", secs(m.tsctlWarm), spread(t.tsctlWarm), "-", "1.00×"]);
    if (docker.handle) rows.push(["docker pull, warm (all layers present)", secs(m.dockerWarm), spread(t.dockerWarm), "-", ratio(m.tsctlWarm, m.dockerWarm)]);

    console.log(`\nbench pull: ${ref}@${digest.slice(0, 19)}… — busybox + ${LAYERS} layers of ${LAYER_MIB} MiB incompressible data, ${(wireBytes / (1 << 20)).toFixed(1)} MiB on the wire, docker-registry on loopback (plain HTTP); medians of ${rounds} rounds`);
    if (docker.handle) console.log(`docker: ${docker.about}; busybox loaded beforehand on both daemons`);
    console.log(`tsctl figures include the CLI's start-up: \`tsctl --version\` takes ${secs(m.tsctlStart)} (median)`);
    if (freshRoots) console.log(`tsctl: image rm did not free the image's blobs in ${freshRoots} round(s); those rounds ran on a fresh data root`);
    table(rows);
    const slower = [["skopeo", m.skopeoCold], ["docker", m.dockerCold]].filter(([, v]) => v !== undefined && m.tsctlCold > v).map(([n]) => n);
    console.log(`target (cold): no slower than skopeo or docker — ${slower.length ? `MISSED (slower than ${slower.join(" and ")})` : "met"}`);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cleanup();
  }
}
