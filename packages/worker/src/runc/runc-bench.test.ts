import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { containerPaths } from "./layout.js";
import { runCommand } from "./run-command.js";
import { RuncTestHost, canRunContainers } from "./test-host.js";
import { busyboxTask } from "./test-image.js";

const N = 20;

/** runDetached runs `runc run -d`; its stdio goes to a file because the container inherits it. */
function runDetached(args: string[], errFile: string): Promise<number> {
  const fd = openSync(errFile, "w");
  const child = spawn("/usr/sbin/runc", args, { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => resolve(code ?? -1));
  });
}
const ms = (t0: number): number => Math.round(performance.now() - t0);

// Start latency against the baseline DESIGN.md names: raw `runc run -d` on the same bundles.
describe.skipIf(!canRunContainers)("runc executor start latency", { timeout: 120_000 }, () => {
  const host = new RuncTestHost();
  afterAll(() => host.teardown(), 60_000);

  it(`${N} sequential starts: executor (prepare+start via conmon) vs raw runc run -d`, async () => {
    const ex = await host.executor();
    const sig = (): AbortSignal => AbortSignal.timeout(30_000);
    const ours = Array.from({ length: N }, (_, i) => busyboxTask(`bench${String(i).padStart(20, "0")}`, "sleep 60"));
    let prepareMs = 0;
    let startMs = 0;
    const t0 = performance.now();
    for (const task of ours) {
      const ctl = ex.controller(task);
      const tp = performance.now();
      await ctl.prepare(sig());
      prepareMs += performance.now() - tp;
      const ts = performance.now();
      await ctl.start(sig());
      startMs += performance.now() - ts;
    }
    const oursMs = ms(t0);
    for (const task of ours) {
      const ctl = ex.controller(task);
      await ctl.shutdown(0);
      await ctl.remove();
    }

    // Same bundles (overlay rootfs, config.json), prepared untimed, started by runc alone.
    const raw = Array.from({ length: N }, (_, i) => busyboxTask(`raw${String(i).padStart(22, "0")}`, "sleep 60"));
    for (const task of raw) await ex.controller(task).prepare(sig());
    const rawRoot = join(host.dir, "raw-runc");
    const t1 = performance.now();
    for (const task of raw) {
      const bundle = containerPaths({ dataRoot: join(host.dir, "data"), execRoot: join(host.dir, "exec") }, task.id).execDir;
      const errFile = join(bundle, "raw.out");
      const code = await runDetached(["--root", rawRoot, "run", "-d", "--bundle", bundle, task.id], errFile);
      expect(readFileSync(errFile, "utf8")).toBe("");
      expect(code).toBe(0);
    }
    const rawMs = ms(t1);
    for (const task of raw) {
      await runCommand("/usr/sbin/runc", ["--root", rawRoot, "delete", "--force", task.id]);
      await ex.controller(task).remove();
    }

    console.log(
      `[bench] ${N} starts: executor ${oursMs} ms (${(oursMs / N).toFixed(1)} ms each; prepare ${(prepareMs / N).toFixed(1)}, start ${(startMs / N).toFixed(1)}) | ` +
        `raw runc run -d ${rawMs} ms (${(rawMs / N).toFixed(1)} ms each) | ratio ${(oursMs / rawMs).toFixed(2)}x`,
    );
    expect(await host.mountsBelow()).toEqual([]);
  });
});
