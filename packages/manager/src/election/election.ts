import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { Etcd3, IDuplexStream, IWatchRequest, IWatchResponse } from "etcd3";
import { grantLease, type KeptLease } from "./lease-keeper.js";

/** LeaderInfo identifies a manager: what followers need to reach the leader. */
export interface LeaderInfo {
  nodeId: string;
  addr: string;
}

/** Election is one manager's candidacy; see startElection. */
export interface Election {
  /** True while this manager holds the leader key and its lease was confirmed less than 2/3 TTL ago. */
  readonly isLeader: boolean;
  /** The current leader as last observed (undefined while none). */
  leader(): LeaderInfo | undefined;
  /** Called on every change of leader (including to/from undefined) and of own leadership. */
  onChange(listener: (leader: LeaderInfo | undefined, self: boolean) => void): () => void;
  /**
   * The leader key's revision while this manager holds it: writes made as the leader compare it
   * (a fence), so a deposed leader that has not noticed yet cannot change anything.
   */
  readonly heldKeyRevision: string | undefined;
  /** Gives up leadership (deletes the key) so another manager takes over at once; keeps campaigning unless stop(). */
  resign(): Promise<void>;
  /** Steps down, deletes the key if held, revokes the lease and stops; no notification after it returns. */
  stop(): Promise<void>;
}

export interface ElectionOptions {
  self: LeaderInfo;
  /** Lease TTL in seconds; etcd raises it to its minimum (see minLeaseTtlSeconds). Default 2. */
  ttlSeconds?: number;
  /** Default /tsctl/v1/leader. */
  key?: string;
  log?: (message: string) => void;
}

export const DEFAULT_LEADER_KEY = "/tsctl/v1/leader";

/**
 * minLeaseTtlSeconds is the smallest lease TTL etcd grants for the given raft timing: etcd
 * silently raises shorter TTLs to ceil(1.5 × election timeout) (`minTTL := (3*electionTicks/2) ×
 * heartbeat` in etcdserver/server.go). 2 s for etcd's defaults (100 ms / 1000 ms), 1 s for
 * 50 ms / 500 ms.
 */
export function minLeaseTtlSeconds(heartbeatMs = 100, electionTimeoutMs = 1000): number {
  const ticks = Math.floor(electionTimeoutMs / heartbeatMs);
  return Math.max(1, Math.ceil((Math.floor((3 * ticks) / 2) * heartbeatMs) / 1000));
}

/**
 * startElection campaigns for leadership under one etcd key, and keeps campaigning until stop().
 *
 * Campaign: one txn "if the key's create_revision is 0, put JSON(self) with our lease, else read
 * the key". The winner is leader for as long as its lease lives; the others watch the key and
 * campaign again when it is deleted (the leader resigned, or its lease expired because its host
 * died). The lease is kept alive by our own loop every TTL/4, and the leader steps down as soon as
 * no keepalive has been confirmed for 2/3 TTL, which is before etcd can expire the lease and let
 * another manager win. If etcd confirms the lease again and the key is still ours, it leads again
 * (no one else can have led meanwhile: the key never went away); if etcd says the lease is gone,
 * it campaigns again with a new one.
 *
 * The client should be a client of the local member without etcd3's default circuit breaker
 * (EtcdBackend's client is): the breaker blocks every call for 5 s after three failures, which
 * would add 5 s to a failover.
 */
export function startElection(client: Etcd3, opts: ElectionOptions): Election {
  const e = new LeaseElection(client, opts);
  e.start();
  return e;
}

type Listener = (leader: LeaderInfo | undefined, self: boolean) => void;

class LeaseElection implements Election {
  private readonly key: Buffer;
  private readonly value: Buffer;
  private readonly ttlSeconds: number;
  private readonly log: (message: string) => void;
  private readonly listeners = new Set<Listener>();
  private readonly stopped = new AbortController();
  private lease: KeptLease | undefined;
  /** create_revision of the leader key while we hold it. */
  private heldRevision: string | undefined;
  /** The leader named by the key, when it is not us. */
  private other: LeaderInfo | undefined;
  private last: { leader: LeaderInfo | undefined; self: boolean } = { leader: undefined, self: false };
  private stepDownTimer: NodeJS.Timeout | undefined;
  /** After resign, do not campaign before this (performance.now()), so another manager wins. */
  private holdOffUntil = 0;
  /** Wakes the campaign loop early (lease lost, resign, stop). */
  private wake: (() => void) | undefined;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: Etcd3,
    private readonly opts: ElectionOptions,
  ) {
    this.key = Buffer.from(opts.key ?? DEFAULT_LEADER_KEY);
    this.value = Buffer.from(JSON.stringify({ nodeId: opts.self.nodeId, addr: opts.self.addr }));
    this.ttlSeconds = opts.ttlSeconds ?? 2;
    this.log = opts.log ?? (() => undefined);
  }

  start(): void {
    this.loop = this.run();
  }

  get isLeader(): boolean {
    // Judged by the clock at the moment of asking, not only by the step-down timer: a process
    // that was frozen must not act on a leadership its timer has not yet revoked.
    const lease = this.lease;
    return (
      this.heldRevision !== undefined &&
      lease !== undefined &&
      !lease.lost &&
      performance.now() - lease.confirmedAt < (lease.ttlMs * 2) / 3 &&
      !this.stopped.signal.aborted
    );
  }

  get heldKeyRevision(): string | undefined {
    return this.heldRevision;
  }

  leader(): LeaderInfo | undefined {
    if (this.isLeader) return { ...this.opts.self };
    return this.heldRevision === undefined && this.other ? { ...this.other } : undefined;
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async resign(): Promise<void> {
    const held = this.heldRevision;
    this.holdOffUntil = performance.now() + this.ttlSeconds * 1000;
    if (held === undefined) return;
    this.heldRevision = undefined; // step down first: never two leaders, even for a moment
    this.publish();
    await this.deleteKey(held);
    this.wake?.();
  }

  async stop(): Promise<void> {
    if (this.stopped.signal.aborted) return this.loop;
    const held = this.heldRevision;
    this.heldRevision = undefined;
    this.publish();
    this.stopped.abort();
    this.listeners.clear();
    this.wake?.();
    clearTimeout(this.stepDownTimer);
    const lease = this.lease;
    lease?.stop();
    if (held !== undefined) await this.deleteKey(held);
    // Revoking also deletes the key if the delete above failed; best effort, etcd may be gone.
    if (lease) await this.client.leaseClient.leaseRevoke({ ID: lease.id }, { deadline: Date.now() + 1000 }).catch(() => undefined);
    await this.loop;
  }

  /** run is the campaign loop: get a lease, campaign, follow the key until something changes. */
  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped.signal.aborted) {
      try {
        const lease = this.lease ?? (await this.newLease());
        if (this.stopped.signal.aborted) break;
        await this.campaign(lease);
        failures = 0;
      } catch (err) {
        if (this.stopped.signal.aborted) break;
        if (failures === 0) this.log(`election: ${(err as Error).message}`);
        failures++;
        if (/lease not found/.test((err as Error).message) && this.lease !== undefined) {
          // The put of a campaign found our lease gone before a keepalive said so.
          this.lease.stop();
          this.lease = undefined;
          this.heldRevision = undefined;
        }
        this.publish();
        await this.pause(Math.min(50 * 2 ** failures, 1000));
      }
    }
  }

  private async newLease(): Promise<KeptLease> {
    let kept: KeptLease | undefined;
    const lease = await grantLease(this.client, this.ttlSeconds, {
      onConfirmed: () => kept && this.armStepDown(kept),
      onLost: () => {
        if (kept === undefined || this.lease !== kept) return;
        this.log(`election: lease ${lease.id} expired; campaigning with a new one`);
        this.lease = undefined;
        this.heldRevision = undefined;
        this.publish();
        this.wake?.();
      },
      log: (m) => this.log(`election: ${m}`),
    });
    if (this.stopped.signal.aborted) {
      lease.stop();
      await this.client.leaseClient.leaseRevoke({ ID: lease.id }, { deadline: Date.now() + 1000 }).catch(() => undefined);
      return lease;
    }
    kept = lease;
    this.lease = lease;
    this.armStepDown(lease);
    return lease;
  }

  /** armStepDown schedules the step-down for when the last confirmation is 2/3 TTL old. */
  private armStepDown(lease: KeptLease): void {
    if (this.lease !== lease || this.stopped.signal.aborted) return;
    clearTimeout(this.stepDownTimer);
    const due = lease.confirmedAt + (lease.ttlMs * 2) / 3 - performance.now();
    this.stepDownTimer = setTimeout(() => {
      if (this.heldRevision !== undefined) this.log(`election: no keepalive confirmed for ${Math.round((lease.ttlMs * 2) / 3)}ms; stepping down`);
      this.publish();
    }, Math.max(0, due) + 1);
    this.publish(); // a confirmation after a step-down makes us leader again
  }

  /**
   * campaign makes one attempt (or, during a resign hold-off, only reads the key) and then
   * follows the key until it is deleted, the lease is lost, or the watch breaks (thrown).
   */
  private async campaign(lease: KeptLease): Promise<void> {
    const holdOff = this.holdOffUntil - performance.now();
    const res = await this.client.kv.txn(
      {
        compare: holdOff > 0 ? [] : [{ key: this.key, target: "Create", result: "Equal", create_revision: "0" }],
        success: holdOff > 0 ? [{ request_range: { key: this.key } }] : [{ request_put: { key: this.key, value: this.value, lease: lease.id } }],
        failure: [{ request_range: { key: this.key } }],
      },
      { deadline: Date.now() + Math.max(1000, lease.ttlMs / 2) },
    );
    const revision = res.header.revision;
    if (res.succeeded && holdOff <= 0) {
      if (this.holdOffUntil > performance.now()) {
        await this.deleteKey(revision); // resign() was called while the campaign was in flight
        return;
      }
      this.heldRevision = revision;
      this.log(`election: elected (lease ${lease.id})`);
    } else {
      const kv = res.responses[0]?.response_range?.kvs[0];
      if (kv === undefined) {
        this.heldRevision = undefined;
        this.other = undefined;
      } else if (kv.lease === lease.id) {
        this.heldRevision = kv.create_revision; // ours already: a campaign after a step-down or a lost answer
      } else {
        this.heldRevision = undefined;
        this.other = parseLeader(kv.value);
      }
    }
    this.publish();
    // Resigned and nobody took over yet: follow the key, and campaign again after the hold-off.
    const holdOffLeft = this.holdOffUntil - performance.now();
    const timer = holdOffLeft > 0 && this.heldRevision === undefined && this.other === undefined ? setTimeout(() => this.wake?.(), holdOffLeft) : undefined;
    try {
      await this.follow(BigInt(revision) + 1n, lease);
    } finally {
      clearTimeout(timer);
    }
  }

  /** follow watches the key from a revision and returns when it was deleted or the lease lost. */
  private follow(fromRevision: bigint, lease: KeptLease): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined;
      let done = false;
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        this.wake = undefined;
        stream?.on("error", () => undefined);
        stream?.cancel();
        if (err) reject(err);
        else resolve();
      };
      this.wake = () => finish();
      if (this.stopped.signal.aborted || this.lease !== lease) return finish();
      this.client.watchClient.watch().then(
        (s) => {
          stream = s;
          if (done) return finish();
          s.on("data", (res) => {
            if (res.canceled) return finish(new Error(`watch of the leader key canceled: ${res.cancel_reason || "compacted"}`));
            for (const ev of res.events) {
              if (ev.type === "Delete") {
                // Our key can go while our lease still answers keepalives: etcd 3.4.23 lets a
                // raft leader that was stuck for longer than the TTL revoke every lease it knew
                // once it resumes (etcd-io/etcd#15247). Stop leading the moment the key is gone.
                if (this.heldRevision !== undefined) this.log("election: the leader key was deleted; stepping down");
                this.heldRevision = undefined;
                this.other = undefined;
                this.publish();
                return finish();
              }
              if (ev.kv.lease === lease.id) {
                this.heldRevision = ev.kv.create_revision;
              } else {
                this.heldRevision = undefined;
                this.other = parseLeader(ev.kv.value);
              }
              this.publish();
            }
          });
          s.on("error", (err) => finish(new Error(`watch of the leader key failed: ${err.message}`)));
          s.on("end", () => finish(new Error("watch of the leader key ended")));
          s.write({ create_request: { key: this.key, start_revision: fromRevision.toString() } });
        },
        (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
      );
    });
  }

  /** deleteKey deletes the leader key if it is still the one we created (best effort). */
  private async deleteKey(createRevision: string): Promise<void> {
    await this.client.kv
      .txn(
        {
          compare: [{ key: this.key, target: "Create", result: "Equal", create_revision: createRevision }],
          success: [{ request_delete_range: { key: this.key } }],
          failure: [],
        },
        { deadline: Date.now() + 1000 },
      )
      .catch((err: unknown) => this.log(`election: could not delete the leader key: ${(err as Error).message}`));
  }

  /** pause sleeps, but returns early on wake() or stop(). */
  private async pause(ms: number): Promise<void> {
    const woken = new Promise<void>((resolve) => (this.wake = resolve));
    await Promise.race([sleep(ms, undefined, { signal: this.stopped.signal }).catch(() => undefined), woken]);
    this.wake = undefined;
  }

  /** publish notifies the listeners if the leader or our own leadership changed. */
  private publish(): void {
    if (this.stopped.signal.aborted && this.listeners.size === 0) return;
    const self = this.isLeader;
    const leader = this.leader();
    if (self === this.last.self && sameLeader(leader, this.last.leader)) return;
    this.last = { leader, self };
    for (const l of [...this.listeners]) {
      try {
        l(leader, self);
      } catch (err) {
        this.log(`election: listener failed: ${(err as Error).message}`);
      }
    }
  }
}

function sameLeader(a: LeaderInfo | undefined, b: LeaderInfo | undefined): boolean {
  return a?.nodeId === b?.nodeId && a?.addr === b?.addr;
}

function parseLeader(value: Buffer): LeaderInfo | undefined {
  try {
    const v = JSON.parse(value.toString()) as Partial<LeaderInfo>;
    return typeof v.nodeId === "string" && typeof v.addr === "string" ? { nodeId: v.nodeId, addr: v.addr } : undefined;
  } catch {
    return undefined;
  }
}
