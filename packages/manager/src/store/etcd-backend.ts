import { readFileSync } from "node:fs";
import { UnavailableError } from "@tsctl/api";
import {
  ClientClosedError,
  Etcd3,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCUnavailableError,
  isRecoverableError,
  type IKeyValue,
  type IOptions,
  type IRequestOp,
  type IWatchResponse,
} from "etcd3";
import { localMemberFaultHandling } from "../etcd/fault-handling.js";
import { CompactedError, TooManyOpsError } from "./errors.js";
import type { Backend, Compare, KeyValue, Op, TxnResult, WatchEvent } from "./types.js";

/** EtcdBackendOptions configures the client; maxTxnOps must not exceed etcd's --max-txn-ops. */
export interface EtcdBackendOptions {
  endpoints: string[];
  maxTxnOps?: number;
  /** Deadline of each unary call; a dead member should fail fast, not hang a controller. */
  callTimeoutMs?: number;
  /**
   * Client certificate, key and CA (PEM files) for a member started with TLS; the endpoint is then
   * https://. serverName: check the member's certificate against this name rather than the
   * address dialled (e.g. "tsctl-manager", so 127.0.0.1 need not be a SAN).
   */
  tls?: { certFile: string; keyFile: string; caFile: string; serverName?: string };
  /** Extra etcd3 client options (fault handling, gRPC options). */
  client?: Omit<IOptions, "hosts">;
}

/**
 * EtcdBackend is the Backend over etcd v3. Connection failures surface as UnavailableError;
 * watches never reconnect on their own (the etcd3 client would resume from the revision of its
 * last header, which can skip events), they end with an error and the store resumes them from the
 * revision it has applied.
 */
export class EtcdBackend implements Backend {
  readonly maxTxnOps: number;
  /** The etcd3 client, for what is not the store's business (membership, leader election). */
  readonly client: Etcd3;

  constructor(opts: EtcdBackendOptions) {
    this.maxTxnOps = opts.maxTxnOps ?? 10_000;
    const timeout = opts.callTimeoutMs ?? 10_000;
    const tls = opts.tls;
    this.client = new Etcd3({
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
      ...(tls && {
        credentials: { rootCertificate: readFileSync(tls.caFile), privateKey: readFileSync(tls.keyFile), certChain: readFileSync(tls.certFile) },
      }),
      ...opts.client,
      // Without etcd3's per-host circuit breaker: one host, nothing to fail over to (see there).
      faultHandling: { ...localMemberFaultHandling, ...opts.client?.faultHandling },
      grpcOptions: {
        // A full list of a large cluster is bigger than gRPC's 4 MiB default.
        "grpc.max_receive_message_length": 512 * 1024 * 1024,
        ...(tls?.serverName !== undefined && { "grpc.ssl_target_name_override": tls.serverName }),
        ...opts.client?.grpcOptions,
      },
      hosts: opts.endpoints,
    });
  }

  async list(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    const key = Buffer.from(prefix);
    const res = await call(() => this.client.kv.range({ key, range_end: prefixEnd(key) }));
    return { kvs: res.kvs.map(toKeyValue), revision: Number(res.header.revision) };
  }

  async txn(compares: Compare[], ops: Op[]): Promise<TxnResult> {
    const n = Math.max(compares.length, ops.length);
    if (n > this.maxTxnOps) throw new TooManyOpsError(n, this.maxTxnOps);
    const compare = compares.map((c) => ({
      key: Buffer.from(c.key),
      target: "Mod" as const,
      result: "Equal" as const,
      mod_revision: String(c.modRevision),
    }));
    const success = ops.map((op): IRequestOp =>
      op.type === "put"
        ? { request_put: { key: Buffer.from(op.key), value: Buffer.from(op.value.buffer, op.value.byteOffset, op.value.byteLength) } }
        : { request_delete_range: { key: Buffer.from(op.key) } },
    );
    const res = await call(() => this.client.kv.txn({ compare, success, failure: [] }));
    return { succeeded: res.succeeded, revision: Number(res.header.revision) };
  }

  async *watch(prefix: string, fromRevision: number, signal: AbortSignal): AsyncIterable<WatchEvent[]> {
    const queue: (WatchEvent[] | Error)[] = [];
    let wake: (() => void) | undefined;
    const push = (item: WatchEvent[] | Error): void => {
      queue.push(item);
      wake?.();
    };
    const onAbort = (): void => wake?.();
    signal.addEventListener("abort", onAbort);
    const watcher = this.client.watch().prefix(prefix).withPreviousKV().startRevision(String(fromRevision + 1)).watcher();
    watcher.on("data", (res: IWatchResponse) => {
      for (const batch of byRevision(res)) push(batch);
    });
    watcher.on("disconnected", (err) => push(new UnavailableError(`etcd watch disconnected: ${err.message}`, err)));
    watcher.on("error", (err) => push(err));
    let last = fromRevision;
    try {
      while (!signal.aborted) {
        const item = queue.shift();
        if (item === undefined) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        if (item instanceof Error) throw await this.classifyWatchError(item, prefix, last);
        last = item[0]?.kv.modRevision ?? last;
        yield item;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      watcher.removeAllListeners();
      watcher.on("error", () => undefined); // late errors after cancel must not crash the process
      // Cancelling waits on the stream; never let a dead member hold up the caller.
      await Promise.race([watcher.cancel().catch(() => undefined), delay(1000)]);
    }
  }

  async close(): Promise<void> {
    this.client.close();
    return Promise.resolve();
  }

  /** classifyWatchError tells compaction apart from other cancellations by probing the revision. */
  private async classifyWatchError(err: Error, prefix: string, last: number): Promise<Error> {
    if (err instanceof UnavailableError) return err;
    try {
      await this.client.kv.range({ key: Buffer.from(prefix), revision: String(last + 1), limit: 1, count_only: true });
    } catch (probe) {
      if (probe instanceof Error && /compacted/.test(probe.message)) return new CompactedError(last);
      if (isConnectionError(probe)) return new UnavailableError(`etcd unavailable: ${String(probe)}`, probe);
    }
    return new UnavailableError(`etcd watch ended: ${err.message}`, err);
  }
}

/** byRevision splits one watch response into per-revision batches, as Backend.watch promises. */
function byRevision(res: IWatchResponse): WatchEvent[][] {
  const out: WatchEvent[][] = [];
  let current: WatchEvent[] = [];
  let rev = -1;
  for (const ev of res.events) {
    const kv = toKeyValue(ev.kv);
    if (kv.modRevision !== rev && current.length > 0) {
      out.push(current);
      current = [];
    }
    rev = kv.modRevision;
    const type = ev.type === "Put" ? "put" : "delete";
    current.push(ev.prev_kv ? { type, kv, prev: toKeyValue(ev.prev_kv) } : { type, kv });
  }
  if (current.length > 0) out.push(current);
  return out;
}

function toKeyValue(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString(),
    value: new Uint8Array(kv.value.buffer, kv.value.byteOffset, kv.value.byteLength),
    modRevision: Number(kv.mod_revision),
    createRevision: Number(kv.create_revision),
  };
}

/** prefixEnd is the etcd range end covering every key that starts with key. */
function prefixEnd(key: Buffer): Buffer {
  const end = Buffer.from(key);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

function isConnectionError(err: unknown): boolean {
  return (
    err instanceof GRPCUnavailableError ||
    err instanceof GRPCDeadlineExceededError ||
    err instanceof GRPCCancelledError ||
    err instanceof ClientClosedError ||
    (err instanceof Error && (isRecoverableError(err) || err.name === "BrokenCircuitError"))
  );
}

/** call maps connection failures to UnavailableError and lets everything else through. */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isConnectionError(err)) throw new UnavailableError(`etcd unavailable: ${(err as Error).message}`, err);
    throw err;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
