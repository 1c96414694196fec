/**
 * CompactedError is thrown by Backend.watch when the requested start revision has been compacted
 * away; the store reacts by listing again instead of retrying the same watch forever.
 */
export class CompactedError extends Error {
  constructor(
    readonly fromRevision: number,
    readonly compactRevision?: number,
  ) {
    super(`watch from revision ${fromRevision + 1}: required revision has been compacted`);
    this.name = "CompactedError";
  }
}

/** TooManyOpsError is a programming error: a txn exceeded the backend's maxTxnOps. */
export class TooManyOpsError extends Error {
  constructor(ops: number, max: number) {
    super(`txn has ${ops} ops, more than maxTxnOps ${max}`);
    this.name = "TooManyOpsError";
  }
}
