/**
 * LeaderWatchdog lets a follower notice at once that the leader's tsd is gone, instead of waiting
 * for its lease to expire. Four times a second it opens a TCP connection to the leader's listener;
 * a refused connection means the leader's host is up but nothing listens there any more (tsd was
 * killed or crashed), and after two refusals in a row the follower evicts the leader's lease. A
 * leader that is merely unreachable (host down, network cut) times out instead, and is left to
 * its lease: a partitioned leader must not be deposed by a minority that cannot see it.
 */
import { connect } from "node:net";
import type { Manager } from "@tsctl/manager";
import type { Logger } from "./logger.js";

export type ProbeResult = "up" | "refused" | "unknown";

/** probeTcp connects to host:port and reports whether something accepted, refused, or neither. */
export function probeTcp(addr: string, timeoutMs = 500): Promise<ProbeResult> {
  const i = addr.lastIndexOf(":");
  const host = addr.slice(0, i).replace(/^\[|\]$/g, "");
  const port = Number(addr.slice(i + 1));
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (r: ProbeResult) => {
      sock.destroy();
      resolve(r);
    };
    sock.setTimeout(timeoutMs, () => done("unknown"));
    sock.once("connect", () => done("up"));
    sock.once("error", (err: NodeJS.ErrnoException) => done(err.code === "ECONNREFUSED" ? "refused" : "unknown"));
  });
}

export class LeaderWatchdog {
  private timer: NodeJS.Timeout | undefined;
  private refusals = 0;
  private probing = false;

  constructor(
    private readonly manager: Manager,
    private readonly log: Logger,
    private readonly probe: (addr: string) => Promise<ProbeResult> = probeTcp,
    private readonly periodMs = 250,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    const leader = this.manager.leader();
    if (this.probing || !leader || leader.nodeId === this.manager.nodeId) {
      this.refusals = 0;
      return;
    }
    this.probing = true;
    try {
      const result = await this.probe(leader.addr);
      this.refusals = result === "refused" ? this.refusals + 1 : 0;
      if (this.refusals < 2) return;
      this.refusals = 0;
      if (await this.manager.evictLeader(leader)) this.log.warn("leader's tsd is gone (connection refused); evicted its lease", { leader: leader.nodeId });
    } catch (err) {
      this.log.debug("leader eviction failed", { err: String(err) });
    } finally {
      this.probing = false;
    }
  }
}
