/**
 * Presence: each manager keeps a key under /tsctl/v1/presence/ alive on a lease of its own, and
 * reads the set of live keys once a second. A manager whose process died or who is cut off from
 * the etcd majority stops renewing, its key expires, and `node ls` shows it Unreachable; nothing
 * has to probe anyone. (A manager cut off also cannot read, so it keeps its last view.)
 */
import type { Etcd3, Lease } from "etcd3";

const prefix = "/tsctl/v1/presence/";

export interface Presence {
  /** Node ids of managers holding a live presence key, as of the last read. */
  alive(): Set<string>;
  /**
   * inQuorum is false once this manager's own lease went unconfirmed for a TTL: its etcd member
   * is cut off from the majority, so nothing it is asked to change could be committed.
   */
  inQuorum(): boolean;
  stop(): Promise<void>;
}

export function startPresence(client: Etcd3, opts: { nodeId: string; ttlSeconds: number; pollMs?: number }): Presence {
  let alive = new Set<string>([opts.nodeId]);
  let lease: Lease | undefined;
  let stopped = false;
  let confirmedAt = Date.now();

  const hold = async (): Promise<void> => {
    while (!stopped) {
      const l = client.lease(opts.ttlSeconds);
      lease = l;
      const lost = new Promise<void>((resolve) => l.once("lost", () => resolve()));
      l.on("keepaliveSucceeded", () => (confirmedAt = Date.now()));
      try {
        await l.put(prefix + opts.nodeId).value(opts.nodeId);
        confirmedAt = Date.now();
        await lost;
      } catch {
        // etcd unreachable: retry below with a fresh lease.
      }
      await l.revoke().catch(() => undefined);
      if (!stopped) await new Promise((r) => setTimeout(r, 500));
    }
  };
  void hold();

  const read = async (): Promise<void> => {
    try {
      const keys = await client.getAll().prefix(prefix).keys();
      alive = new Set(keys.map((k) => k.slice(prefix.length)));
    } catch {
      // Keep the last view while etcd cannot answer.
    }
  };
  void read();
  const timer = setInterval(() => void read(), opts.pollMs ?? 1000);
  timer.unref();

  return {
    alive: () => alive,
    inQuorum: () => Date.now() - confirmedAt < opts.ttlSeconds * 1000,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await lease?.revoke().catch(() => undefined);
    },
  };
}
