import type { IOptions } from "etcd3";

type FaultHandling = NonNullable<IOptions["faultHandling"]>;
type HostPolicy = ReturnType<NonNullable<FaultHandling["host"]>>;

/**
 * passThrough is a policy (cockatiel's interface, which etcd3 takes) that only runs the call:
 * no retries, no breaker.
 */
const passThrough = {
  onSuccess: () => ({ dispose: () => undefined }),
  onFailure: () => ({ dispose: () => undefined }),
  execute: <T>(fn: (ctx: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> =>
    Promise.resolve().then(() => fn({ signal: signal ?? new AbortController().signal })),
} as unknown as HostPolicy;

/**
 * localMemberFaultHandling is the etcd3 fault handling for a client of the local member alone.
 * etcd3's default puts a circuit breaker on each host that opens after 3 consecutive transient
 * errors and lets nothing through for 5 s; with one host there is nothing to fail over to, so it
 * only adds a 5 s blackout after every short outage (a raft election, a member restart, etcd's
 * "unhealthy cluster" answer to an early join) — longer than a leader failover should take. The
 * callers have their own retry loops, so the host policy only runs the call; etcd3's global
 * policy (3 immediate attempts on transient errors) stays.
 */
export const localMemberFaultHandling: Pick<FaultHandling, "host"> = { host: () => passThrough };
