import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { Etcd3 } from "etcd3";

/**
 * KeptLease is an etcd lease with a keepalive loop of our own (etcd3's Lease keeps a lease alive
 * too, but only reports it lost once the whole TTL has passed, and a leader must know sooner).
 */
export interface KeptLease {
  /** The lease id: an int64 as a decimal string, never a number. */
  readonly id: string;
  /** The TTL etcd granted, which may be more than asked for (etcd raises it to its minimum). */
  readonly ttlMs: number;
  /**
   * performance.now() at which the last confirmation was *sent* (the grant or a keepalive that
   * etcd answered with TTL > 0). etcd started counting the TTL no earlier than that, so the lease
   * is alive on the server until at least confirmedAt + ttlMs.
   */
  readonly confirmedAt: number;
  /** etcd said the lease no longer exists (expired or revoked). */
  readonly lost: boolean;
  /** Stops the keepalives (the lease then expires on the server unless revoked). */
  stop(): void;
}

export interface LeaseHooks {
  /** A keepalive was answered with TTL > 0. */
  onConfirmed(): void;
  /** etcd answered that the lease does not exist any more. */
  onLost(): void;
  log(message: string): void;
}

/** grantLease grants a lease of ttlSeconds and keeps it alive every quarter TTL until stop(). */
export async function grantLease(client: Etcd3, ttlSeconds: number, hooks: LeaseHooks): Promise<KeptLease> {
  const sent = performance.now();
  const res = await client.leaseClient.leaseGrant({ TTL: ttlSeconds }, { deadline: Date.now() + Math.max(1000, (ttlSeconds * 1000) / 2) });
  const stopped = new AbortController();
  const lease = {
    id: res.ID,
    ttlMs: Number(res.TTL) * 1000,
    confirmedAt: sent,
    lost: false,
    stop: () => stopped.abort(),
  };
  if (Number(res.TTL) !== ttlSeconds) hooks.log(`etcd granted a ${res.TTL}s lease for the ${ttlSeconds}s asked`);
  void keepAlive(client, lease, hooks, stopped.signal);
  return lease;
}

/** keepAlive renews the lease every ttl/4; each attempt may take up to ttl/3. */
async function keepAlive(client: Etcd3, lease: { id: string; ttlMs: number; confirmedAt: number; lost: boolean }, hooks: LeaseHooks, signal: AbortSignal): Promise<void> {
  const interval = lease.ttlMs / 4;
  let failing = false;
  let next = lease.confirmedAt + interval;
  while (!signal.aborted) {
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) return;
    const sent = performance.now();
    next = sent + interval;
    try {
      const ttl = await keepAliveOnce(client, lease.id, lease.ttlMs / 3);
      if (signal.aborted) return;
      if (ttl <= 0) {
        lease.lost = true;
        hooks.onLost();
        return;
      }
      if (failing) hooks.log(`lease ${lease.id} keepalive works again`);
      failing = false;
      lease.confirmedAt = sent;
      hooks.onConfirmed();
    } catch (err) {
      if (!failing && !signal.aborted) hooks.log(`lease ${lease.id} keepalive failed: ${(err as Error).message}`);
      failing = true;
    }
  }
}

/** keepAliveOnce sends one keepalive on a stream of its own and returns the TTL etcd answers. */
async function keepAliveOnce(client: Etcd3, id: string, timeoutMs: number): Promise<number> {
  const stream = await client.leaseClient.leaseKeepAlive({ deadline: Date.now() + timeoutMs });
  return new Promise<number>((resolve, reject) => {
    stream.on("data", (res) => {
      resolve(Number(res.TTL));
      stream.end();
    });
    stream.on("error", reject); // also a deadline, or a late error after end(): then a no-op
    stream.on("end", () => reject(new Error("keepalive stream ended without an answer")));
    stream.write({ ID: id });
  });
}
