import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { getHealth, isHealthy, type EtcdTls } from "./health.js";

/**
 * MANAGER_PEER_NAME is the DNS SAN every manager certificate carries and worker certificates do
 * not; members accept a peer only if its certificate has it (--peer-cert-allowed-hostname).
 */
export const MANAGER_PEER_NAME = "tsctl-manager";

/** EtcdOptions describes one etcd member that tsd starts and supervises. */
export interface EtcdOptions {
  name: string;
  dataDir: string;
  /** Address etcd listens on for clients and peers (plain mode; with tls clients use 127.0.0.1). */
  host?: string;
  /** Address peers reach this member at, and the peer listener's address. Defaults to host. */
  peerHost?: string;
  /**
   * Certificates from the cluster CA. With them both listeners speak TLS and require a client
   * certificate from that CA; peers must also present the tsctl-manager DNS SAN.
   */
  tls?: EtcdTls;
  /** etcd --heartbeat-interval (etcd's default: 100). */
  heartbeatIntervalMs?: number;
  /** etcd --election-timeout (etcd's default: 1000); also sets the minimum lease TTL. */
  electionTimeoutMs?: number;
  clientPort: number;
  peerPort: number;
  /** etcd --max-txn-ops; the store writes whole scheduling rounds in few txns, so keep it high. */
  maxTxnOps?: number;
  quotaBackendBytes?: number;
  snapshotCount?: number;
  /** Defaults to this member alone: `<name>=<peerUrl>`. */
  initialCluster?: string;
  initialClusterState: "new" | "existing";
  /** etcd's stdout and stderr are appended here. */
  logFile: string;
  /** Aborting stops etcd, as stop() does. */
  signal?: AbortSignal;
  binary?: string;
  readyTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. */
  stopTimeoutMs?: number;
  /** Delay before restart number `attempt` (1-based) of a member that died. Injectable for tests. */
  restartDelay?: (attempt: number) => number;
  /** Where supervision messages go (unexpected exits, restarts). */
  log?: (message: string) => void;
}

/** EtcdHandle owns a running member: its process, restarts, and the way to stop it. */
export interface EtcdHandle {
  /** Client URL, e.g. http://127.0.0.1:2379 (https://127.0.0.1:<port> with tls). */
  readonly endpoint: string;
  /** URL peers reach this member at (what addMember needs). */
  readonly peerUrl: string;
  /** PID of the current etcd process (changes after a restart). */
  readonly pid: number;
  /** Number of times the supervisor restarted etcd after an unexpected exit. */
  readonly restarts: number;
  /** Resolves when the current process answers /health (after a restart too). */
  ready(): Promise<void>;
  /** SIGTERM, then SIGKILL after stopTimeoutMs; resolves when the process has exited. */
  stop(): Promise<void>;
}

const GiB = 1024 * 1024 * 1024;

/** etcdUrls derives the member's client and peer URLs from its options. */
export function etcdUrls(o: Pick<EtcdOptions, "host" | "peerHost" | "tls" | "clientPort" | "peerPort">): { clientUrl: string; peerUrl: string } {
  const host = o.host ?? "127.0.0.1";
  const peerHost = o.peerHost ?? host;
  // With TLS the only client is the manager on the same node, so the client port stays on loopback.
  if (o.tls) return { clientUrl: `https://127.0.0.1:${o.clientPort}`, peerUrl: `https://${hostPort(peerHost, o.peerPort)}` };
  return { clientUrl: `http://${hostPort(host, o.clientPort)}`, peerUrl: `http://${hostPort(peerHost, o.peerPort)}` };
}

/** etcdArgs builds the command line; kept separate so the flags are visible in one place. */
export function etcdArgs(o: EtcdOptions): string[] {
  const { clientUrl, peerUrl } = etcdUrls(o);
  return [
    `--name=${o.name}`,
    `--data-dir=${o.dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=${o.initialCluster ?? `${o.name}=${peerUrl}`}`,
    `--initial-cluster-state=${o.initialClusterState}`,
    `--max-txn-ops=${o.maxTxnOps ?? 10_000}`,
    // Large txns make large requests; the default 1.5 MiB limit would reject a 10,000-task round.
    `--max-request-bytes=${64 * 1024 * 1024}`,
    `--quota-backend-bytes=${o.quotaBackendBytes ?? 2 * GiB}`,
    `--snapshot-count=${o.snapshotCount ?? 10_000}`,
    // Keep 1000 revisions of history: enough for a watch to resume after a short break.
    "--auto-compaction-mode=revision",
    "--auto-compaction-retention=1000",
    "--logger=zap",
    "--log-outputs=stderr",
    ...(o.heartbeatIntervalMs === undefined ? [] : [`--heartbeat-interval=${o.heartbeatIntervalMs}`]),
    ...(o.electionTimeoutMs === undefined ? [] : [`--election-timeout=${o.electionTimeoutMs}`]),
    // A member that was cut off comes back with a higher term and would depose a healthy leader;
    // with pre-vote it first asks whether it could win, and rejoins quietly instead.
    "--pre-vote=true",
    ...(o.tls ? tlsArgs(o.tls) : []),
  ];
}

/** tlsArgs: both listeners need a certificate from the cluster CA; peers also the manager SAN. */
function tlsArgs(t: EtcdTls): string[] {
  return [
    `--cert-file=${t.certFile}`,
    `--key-file=${t.keyFile}`,
    "--client-cert-auth",
    `--trusted-ca-file=${t.caFile}`,
    `--peer-cert-file=${t.certFile}`,
    `--peer-key-file=${t.keyFile}`,
    "--peer-client-cert-auth",
    `--peer-trusted-ca-file=${t.caFile}`,
    // A worker's certificate comes from the same CA; only the SAN tells a manager apart. etcd
    // checks it on both sides of a peer connection, so every manager certificate needs it.
    `--peer-cert-allowed-hostname=${MANAGER_PEER_NAME}`,
  ];
}

/** hostPort brackets IPv6 literals. */
function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

const setpriv = "/usr/bin/setpriv";

/** startEtcd spawns etcd, waits until it is healthy, and restarts it if it dies unexpectedly. */
export async function startEtcd(o: EtcdOptions): Promise<EtcdHandle> {
  const { clientUrl: endpoint, peerUrl } = etcdUrls(o);
  const log = o.log ?? ((m: string) => console.error(`etcd ${o.name}: ${m}`));
  const restartDelay = o.restartDelay ?? ((n: number) => Math.min(200 * 2 ** (n - 1), 10_000));
  if (o.signal?.aborted) throw new Error("startEtcd: aborted before start");
  const args = etcdArgs(o);
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(dirname(o.logFile), { recursive: true });

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopping = false;
  const stopped = new AbortController(); // cancels a pending restart
  let restarts = 0;
  let readyPromise: Promise<void> = Promise.resolve();

  const spawnOnce = (): void => {
    const fd = openSync(o.logFile, "a");
    // etcd must not outlive a tsd killed with SIGKILL: a leftover member would hold the ports and
    // the data dir lock, and the restarted tsd could not start its own. setpriv (util-linux) asks
    // the kernel to kill etcd when its parent dies; etcd's WAL makes that safe.
    const binary = o.binary ?? "/usr/bin/etcd";
    const c = existsSync(setpriv)
      ? spawn(setpriv, ["--pdeathsig", "KILL", "--", binary, ...args], { stdio: ["ignore", fd, fd], env: etcdEnv() })
      : spawn(binary, args, { stdio: ["ignore", fd, fd], env: etcdEnv() });
    closeSync(fd);
    child = c;
    exited = new Promise((resolve) => {
      c.once("exit", (code, sig) => {
        resolve();
        if (stopping) return;
        restarts++;
        const delay = restartDelay(restarts);
        log(`exited unexpectedly (code ${code}, signal ${sig}); restart #${restarts} in ${delay}ms`);
        readyPromise = sleep(delay, undefined, { signal: stopped.signal }).then(() => {
          spawnOnce();
          return waitHealthy(endpoint, o.tls, o.logFile, o.readyTimeoutMs ?? 15_000, () => stopping);
        });
        readyPromise.catch((err: unknown) => {
          if (!stopping) log(`restart failed: ${String(err)}`);
        });
      });
    });
    c.once("error", (err) => log(`spawn error: ${err.message}`));
  };

  const stop = async (): Promise<void> => {
    stopping = true;
    stopped.abort();
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return exited;
    c.kill("SIGTERM");
    const timer = setTimeout(() => c.kill("SIGKILL"), o.stopTimeoutMs ?? 10_000);
    await exited;
    clearTimeout(timer);
  };

  spawnOnce();
  o.signal?.addEventListener("abort", () => void stop(), { once: true });
  try {
    readyPromise = waitHealthy(endpoint, o.tls, o.logFile, o.readyTimeoutMs ?? 15_000, () => stopping);
    await readyPromise;
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    endpoint,
    peerUrl,
    get pid() {
      return child?.pid ?? -1;
    },
    get restarts() {
      return restarts;
    },
    ready: () => readyPromise,
    stop,
  };
}

/** etcdEnv opts in to arm64, which etcd 3.4 refuses to run on without ETCD_UNSUPPORTED_ARCH. */
function etcdEnv(): NodeJS.ProcessEnv {
  return process.arch === "arm64" ? { ...process.env, ETCD_UNSUPPORTED_ARCH: "arm64" } : process.env;
}

/** waitHealthy polls etcd's /health until it reports healthy or the deadline passes. */
async function waitHealthy(
  endpoint: string,
  tls: EtcdTls | undefined,
  logFile: string,
  timeoutMs: number,
  cancelled: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (cancelled()) throw new Error("etcd stopped while waiting for it to become ready");
    try {
      const res = await getHealth(endpoint, tls);
      if (isHealthy(res)) return;
      last = `health ${res.status} ${res.body.trim()}`;
    } catch (err) {
      last = String(err);
    }
    await sleep(100);
  }
  throw new Error(`etcd at ${endpoint} not ready after ${timeoutMs}ms (${last}); log tail:\n${tail(logFile)}`);
}

/** tail returns the last lines of a log file, for error messages. */
function tail(file: string, bytes = 4000): string {
  try {
    return readFileSync(file, "utf8").slice(-bytes);
  } catch {
    return "(no log)";
  }
}

/** freePort asks the kernel for an unused TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
