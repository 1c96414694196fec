/**
 * LogStreamer answers the manager's log subscriptions: it reads each requested task's log from
 * the executor and sends the lines in batched chunks on the current session. Subscriptions die
 * with their session; the manager subscribes again on the next one if it still wants logs.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { LogChunkSchema, LogMessageSchema, LogSubscription, Task } from "@tsctl/api";
import type { Executor } from "../executor/types.js";
import type { Clock, Logger } from "./types.js";

export type LogChunkInit = MessageInitShape<typeof LogChunkSchema>;
type LogMessageInit = MessageInitShape<typeof LogMessageSchema>;

/** LogStreamerDeps are what the streamer needs from its agent. */
export interface LogStreamerDeps {
  executor: Executor;
  nodeId: string;
  clock: Clock;
  logger: Logger;
  /** Finds a task this node knows; unknown task ids in a subscription are skipped. */
  lookup(taskId: string): Task | undefined;
  batchMs: number;
  /** A chunk is sent at once when it holds this many lines. */
  maxBatch?: number;
}

export class LogStreamer {
  private readonly subs = new Map<string, AbortController>();

  constructor(private readonly deps: LogStreamerDeps) {}

  /** subscribe starts reading for sub; send is called with each chunk, the last one done when not following. */
  subscribe(sub: LogSubscription, send: (chunk: LogChunkInit) => void): Promise<void> {
    this.subs.get(sub.subscriptionId)?.abort();
    const ac = new AbortController();
    this.subs.set(sub.subscriptionId, ac);
    return this.stream(sub, send, ac.signal).finally(() => {
      if (this.subs.get(sub.subscriptionId) === ac) this.subs.delete(sub.subscriptionId);
    });
  }

  /** cancel stops one subscription; nothing more is sent for it. */
  cancel(subscriptionId: string): void {
    this.subs.get(subscriptionId)?.abort();
    this.subs.delete(subscriptionId);
  }

  /** cancelAll stops every subscription (the session ended). */
  cancelAll(): void {
    for (const ac of this.subs.values()) ac.abort();
    this.subs.clear();
  }

  get active(): number {
    return this.subs.size;
  }

  private async stream(sub: LogSubscription, send: (chunk: LogChunkInit) => void, signal: AbortSignal): Promise<void> {
    const { clock, batchMs, maxBatch = 256 } = this.deps;
    const id = sub.subscriptionId;
    let buffer: LogMessageInit[] = [];
    let timer: unknown;
    let error = "";
    const flush = (done: boolean): void => {
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      if (signal.aborted || (buffer.length === 0 && !done)) return;
      const messages = buffer;
      buffer = [];
      try {
        send({ subscriptionId: id, messages, done, error: done ? error : "" });
      } catch (err) {
        this.deps.logger.debug("log chunk not sent", { subscriptionId: id, err: String(err) });
      }
    };
    // A cancelled subscription drops its unsent lines at once rather than when the timer fires.
    signal.addEventListener("abort", () => flush(false), { once: true });
    const push = (m: LogMessageInit): void => {
      buffer.push(m);
      if (buffer.length >= maxBatch) flush(false);
      else if (timer === undefined) timer = clock.setTimeout(() => flush(false), batchMs);
    };

    const tasks = sub.taskIds.map((t) => this.deps.lookup(t)).filter((t): t is Task => t !== undefined);
    const follow = sub.follow;
    const tail = Number(sub.tail);
    await Promise.all(
      tasks.map(async (task) => {
        try {
          for await (const line of this.deps.executor.logs(task.id, { follow, tail }, signal)) {
            if (signal.aborted) break;
            push({
              taskId: task.id,
              nodeId: this.deps.nodeId,
              serviceId: task.serviceId,
              slot: task.slot,
              timestampMs: line.timestampMs,
              stream: line.stream,
              data: line.data,
            });
          }
        } catch (err) {
          if (signal.aborted) return;
          // A task without a container yet simply has no log.
          if ((err as { code?: string }).code === "NotFound") return;
          error ||= `${task.id}: ${err instanceof Error ? err.message : String(err)}`;
        }
      }),
    );
    flush(!follow);
  }
}
