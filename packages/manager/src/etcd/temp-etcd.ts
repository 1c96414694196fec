import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startEtcd, type EtcdHandle, type EtcdOptions } from "./etcd-process.js";

/** TempEtcd is a throwaway single-member etcd in a temporary directory, for tests and benches. */
export interface TempEtcd {
  handle: EtcdHandle;
  endpoint: string;
  dir: string;
  /** Stops etcd and removes its directory; safe to call more than once. */
  dispose(): Promise<void>;
}

/** startTempEtcd starts a member on free ports under a fresh temp dir; the caller must dispose it. */
export async function startTempEtcd(opts: Partial<EtcdOptions> = {}): Promise<TempEtcd> {
  const dir = mkdtempSync(join(tmpdir(), "tsctl-etcd-"));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const handle = await startEtcd({
      name: "test",
      dataDir: join(dir, "data"),
      logFile: join(dir, "etcd.log"),
      clientPort,
      peerPort,
      initialClusterState: "new",
      ...opts,
    });
    let disposed: Promise<void> | undefined;
    return {
      handle,
      endpoint: handle.endpoint,
      dir,
      dispose: () => (disposed ??= handle.stop().finally(remove)),
    };
  } catch (err) {
    remove();
    throw err;
  }
}
