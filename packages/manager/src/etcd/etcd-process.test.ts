import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { etcdArgs, freePort, startEtcd, type EtcdHandle } from "./etcd-process.js";

/** alive reports whether a PID we started still exists (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("etcd process", () => {
  const handles: EtcdHandle[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const h of handles.splice(0)) await h.stop();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tempDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), "tsctl-etcd-proc-"));
    dirs.push(d);
    return d;
  };

  it("passes the product flags", () => {
    const args = etcdArgs({ name: "m1", dataDir: "/d", clientPort: 1, peerPort: 2, initialClusterState: "new", logFile: "/l" });
    expect(args).toEqual(
      expect.arrayContaining([
        "--max-txn-ops=10000",
        "--quota-backend-bytes=2147483648",
        "--auto-compaction-mode=revision",
        "--auto-compaction-retention=1000",
        "--initial-cluster=m1=http://127.0.0.1:2",
      ]),
    );
    expect(args.some((a) => a.includes("unsafe"))).toBe(false);
    // Plain mode: no TLS flags, and etcd's own raft timing unless asked.
    expect(args.some((a) => /cert|trusted-ca|key-file|heartbeat|election/.test(a))).toBe(false);
  });

  it("listens for peers on peerHost and passes the raft timing when given", () => {
    const args = etcdArgs({
      name: "m1",
      dataDir: "/d",
      clientPort: 1,
      peerPort: 2,
      peerHost: "10.1.2.3",
      heartbeatIntervalMs: 100,
      electionTimeoutMs: 1000,
      initialClusterState: "existing",
      initialCluster: "m0=http://10.1.2.4:2,m1=http://10.1.2.3:2",
      logFile: "/l",
    });
    expect(args).toEqual(
      expect.arrayContaining([
        "--listen-client-urls=http://127.0.0.1:1",
        "--listen-peer-urls=http://10.1.2.3:2",
        "--initial-advertise-peer-urls=http://10.1.2.3:2",
        "--initial-cluster=m0=http://10.1.2.4:2,m1=http://10.1.2.3:2",
        "--initial-cluster-state=existing",
        "--heartbeat-interval=100",
        "--election-timeout=1000",
      ]),
    );
  });

  it("starts, restarts after SIGKILL, and stops for good", async () => {
    const dir = tempDir();
    const messages: string[] = [];
    const h = await startEtcd({
      name: "t",
      dataDir: join(dir, "data"),
      logFile: join(dir, "etcd.log"),
      clientPort: await freePort(),
      peerPort: await freePort(),
      initialClusterState: "new",
      restartDelay: () => 100,
      log: (m) => messages.push(m),
    });
    handles.push(h);
    expect(existsSync(join(dir, "data", "member"))).toBe(true);
    const first = h.pid;
    process.kill(first, "SIGKILL");
    const deadline = Date.now() + 10_000;
    while (h.restarts === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await h.ready();
    expect(h.pid).not.toBe(first);
    expect(messages[0]).toMatch(/exited unexpectedly .*SIGKILL/);
    const res = await fetch(`${h.endpoint}/health`);
    expect(((await res.json()) as { health: string }).health).toBe("true");
    const second = h.pid;
    await h.stop();
    expect(alive(second)).toBe(false);
    expect(h.restarts).toBe(1);
  }, 30_000);

  it("fails with the log tail when etcd cannot start", async () => {
    const dir = tempDir();
    const port = await freePort();
    const err = await startEtcd({
      name: "bad",
      dataDir: join(dir, "data"),
      logFile: join(dir, "etcd.log"),
      clientPort: port,
      peerPort: port, // the same port twice: etcd cannot bind and exits
      initialClusterState: "new",
      readyTimeoutMs: 3000,
      restartDelay: () => 60_000,
      log: () => undefined,
    }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/not ready after 3000ms[\s\S]*log tail/);
  }, 20_000);
});
