import { watch, type FSWatcher } from "node:fs";
import { open } from "node:fs/promises";
import type { LogLine } from "../executor/types.js";
import { WakeableSleep } from "./wakeable-sleep.js";

/** K8sRecord is one line of a CRI ("k8s-file") log as conmon writes it. */
export interface K8sRecord {
  timestampMs: number;
  stream: "stdout" | "stderr";
  /** True for "P": the text continues in the next record of the same stream. */
  partial: boolean;
  text: Buffer;
}

/** parseTimestamp reads RFC3339Nano; Date.parse copes with milliseconds only, so trim to them. */
export function parseTimestamp(ts: string): number {
  return Date.parse(ts.replace(/(\.\d{3})\d+/, "$1"));
}

/** parseK8sLine parses `<RFC3339Nano> <stdout|stderr> <P|F> <text>`; undefined for junk lines. */
export function parseK8sLine(line: Buffer): K8sRecord | undefined {
  const s1 = line.indexOf(0x20);
  const s2 = s1 < 0 ? -1 : line.indexOf(0x20, s1 + 1);
  if (s2 < 0) return undefined;
  const s3 = line.indexOf(0x20, s2 + 1);
  const stream = line.subarray(s1 + 1, s2).toString("latin1");
  const tag = line.subarray(s2 + 1, s3 < 0 ? line.length : s3).toString("latin1");
  const timestampMs = parseTimestamp(line.subarray(0, s1).toString("latin1"));
  if ((stream !== "stdout" && stream !== "stderr") || Number.isNaN(timestampMs)) return undefined;
  const text = s3 < 0 ? Buffer.alloc(0) : line.subarray(s3 + 1);
  return { timestampMs, stream, partial: tag.startsWith("P"), text };
}

/**
 * LineJoiner turns records into whole lines: partial records of a stream are held until the
 * record that completes them. Lines carry no trailing newline (as the fake executor's do).
 */
export class LineJoiner {
  private readonly pending = new Map<string, { ts: number; parts: Buffer[] }>();

  push(rec: K8sRecord): LogLine | undefined {
    const held = this.pending.get(rec.stream);
    const parts = [...(held?.parts ?? []), rec.text];
    const ts = held?.ts ?? rec.timestampMs;
    if (rec.partial) {
      this.pending.set(rec.stream, { ts, parts });
      return undefined;
    }
    this.pending.delete(rec.stream);
    return { timestampMs: ts, stream: rec.stream, data: new Uint8Array(Buffer.concat(parts)) };
  }

  /** flush returns lines the container left unfinished (it exited mid-line). */
  flush(): LogLine[] {
    const out = [...this.pending.entries()].map(([stream, p]) => ({
      timestampMs: p.ts,
      stream: stream as LogLine["stream"],
      data: new Uint8Array(Buffer.concat(p.parts)),
    }));
    this.pending.clear();
    return out;
  }
}

/** ReadLogOptions: tail 0 = everything; exited() tells follow when the file can grow no more. */
export interface ReadLogOptions {
  follow: boolean;
  tail: number;
  exited: () => Promise<boolean>;
  pollMs?: number;
}

/**
 * readK8sLog yields the log's lines, then with follow keeps yielding new ones until the signal
 * aborts (ends quietly) or the container has exited and the file is drained.
 */
export async function* readK8sLog(path: string, opts: ReadLogOptions, signal: AbortSignal): AsyncGenerator<LogLine> {
  const fh = await open(path, "r").catch(() => undefined);
  if (fh === undefined) return;
  const joiner = new LineJoiner();
  let offset = 0;
  let carry = Buffer.alloc(0);
  let watcher: FSWatcher | undefined;
  const poll = new WakeableSleep();
  const nudge = poll.wake;
  signal.addEventListener("abort", nudge);
  // readMore returns the whole lines appended since the last call.
  const readMore = async (): Promise<LogLine[]> => {
    const { size } = await fh.stat();
    if (size <= offset) return [];
    const buf = Buffer.alloc(size - offset);
    const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
    offset += bytesRead;
    const data = Buffer.concat([carry, buf.subarray(0, bytesRead)]);
    const lastNl = data.lastIndexOf(0x0a);
    carry = data.subarray(lastNl + 1);
    const lines: LogLine[] = [];
    let start = 0;
    for (let nl = data.indexOf(0x0a); nl >= 0 && nl <= lastNl; nl = data.indexOf(0x0a, start)) {
      const rec = parseK8sLine(data.subarray(start, nl));
      start = nl + 1;
      const line = rec === undefined ? undefined : joiner.push(rec);
      if (line !== undefined) lines.push(line);
    }
    return lines;
  };
  try {
    const first = await readMore();
    yield* opts.tail > 0 ? first.slice(-opts.tail) : first;
    if (!opts.follow) return;
    try {
      watcher = watch(path, nudge);
      watcher.on("error", () => undefined);
    } catch {
      // polling alone still works
    }
    while (!signal.aborted) {
      const done = await opts.exited();
      const lines = await readMore();
      yield* lines;
      if (done && lines.length === 0) {
        yield* joiner.flush();
        return;
      }
      await poll.sleep(opts.pollMs ?? 250);
    }
  } finally {
    signal.removeEventListener("abort", nudge);
    watcher?.close();
    await fh.close();
  }
}
