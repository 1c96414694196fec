import { toTxnParts, type TxnParts, type Write } from "./write-tx.js";
import type { Backend } from "./types.js";

/** BatchResult counts objects written and objects skipped because their guard failed. */
export interface BatchResult {
  committed: number;
  conflicts: number;
  /** Highest revision written, 0 when nothing was. */
  revision: number;
}

/**
 * commitBatch writes many objects as few transactions of at most txnOps (≤ maxTxnOps), with up to
 * `concurrency` in flight. A chunk whose guards fail is split in halves and retried, down to
 * single objects, so one conflict costs about 2·log2(chunk) extra txns instead of a txn per object;
 * the objects that still fail alone are the conflicts. Errors other than a failed guard (etcd
 * unavailable) are thrown, and whatever was committed before stays committed.
 */
export async function commitBatch(
  backend: Backend,
  writes: Write[],
  opts: { concurrency: number; txnOps: number },
): Promise<BatchResult> {
  const result: BatchResult = { committed: 0, conflicts: 0, revision: 0 };
  const slots = new Semaphore(opts.concurrency);
  const commit = async (parts: TxnParts[]): Promise<void> => {
    const res = await slots.run(() =>
      backend.txn(
        parts.flatMap((p) => p.compares),
        parts.flatMap((p) => p.ops),
      ),
    );
    if (res.succeeded) {
      result.committed += parts.length;
      result.revision = Math.max(result.revision, res.revision);
    } else if (parts.length === 1) {
      result.conflicts++;
    } else {
      const mid = parts.length >> 1;
      await Promise.all([commit(parts.slice(0, mid)), commit(parts.slice(mid))]);
    }
  };
  const max = Math.max(3, Math.min(opts.txnOps, backend.maxTxnOps)); // a renamed service needs 3 ops
  await Promise.all(chunk(writes.map(toTxnParts), max).map(commit));
  return result;
}

/** chunk packs parts greedily so no txn exceeds max compares or max ops. */
function chunk(parts: TxnParts[], max: number): TxnParts[][] {
  const out: TxnParts[][] = [];
  let cur: TxnParts[] = [];
  let compares = 0;
  let ops = 0;
  for (const p of parts) {
    if (cur.length > 0 && (compares + p.compares.length > max || ops + p.ops.length > max)) {
      out.push(cur);
      cur = [];
      compares = 0;
      ops = 0;
    }
    cur.push(p);
    compares += p.compares.length;
    ops += p.ops.length;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** Semaphore bounds how many txns are in flight, so a huge batch does not flood etcd. */
class Semaphore {
  private free: number;
  private readonly queue: (() => void)[] = [];

  constructor(n: number) {
    this.free = Math.max(1, n);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.queue.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next !== undefined) next();
      else this.free++;
    }
  }
}
