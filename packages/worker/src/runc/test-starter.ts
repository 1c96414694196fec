/**
 * test-starter is run as a separate process by the runc tests, standing in for a tsd that starts
 * a container and then dies: it prepares and starts one busybox task, prints the pid, and waits
 * to be killed. Args: <dir> <cgroupParent> <taskId> <script>. Test support only.
 */
import { join } from "node:path";
import { createRuncExecutor } from "./runc-executor.js";
import { busyboxTask, FakeImageStore } from "./test-image.js";

const [dir, cgroupParent, id, script] = process.argv.slice(2) as [string, string, string, string];
const ex = createRuncExecutor({
  dataRoot: join(dir, "data"),
  execRoot: join(dir, "exec"),
  cgroupParent,
  images: new FakeImageStore([join(dir, "layer0")]),
});
await ex.init();
const ctl = ex.controller(busyboxTask(id, script));
await ctl.prepare(AbortSignal.timeout(30_000));
const { pid } = await ctl.start(AbortSignal.timeout(30_000));
process.stdout.write(`started ${pid}\n`);
setInterval(() => undefined, 1_000_000);
