import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Etcd3 } from "etcd3";
import { startTempEtcd, type TempEtcd } from "../etcd/temp-etcd.js";
import { CompactedError } from "./errors.js";
import { EtcdBackend } from "./etcd-backend.js";
import { MemoryBackend } from "./memory-backend.js";
import type { Backend, WatchEvent } from "./types.js";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** collect reads n batches from a watch, then aborts it. */
async function collect(b: Backend, prefix: string, from: number, n: number): Promise<WatchEvent[][]> {
  const ac = new AbortController();
  const out: WatchEvent[][] = [];
  const timer = setTimeout(() => ac.abort(), 5000);
  for await (const batch of b.watch(prefix, from, ac.signal)) {
    out.push(batch);
    if (out.length === n) break;
  }
  clearTimeout(timer);
  return out;
}

/** backendConformance is the contract every Backend must meet; each test uses its own prefix. */
function backendConformance(
  name: string,
  factory: () => Backend,
  compact: (revision: number) => Promise<void>,
): void {
  describe(`Backend conformance: ${name}`, () => {
    let b: Backend;
    beforeAll(() => {
      b = factory();
    });
    afterAll(async () => {
      await b.close();
    });

    it("creates only when the key does not exist", async () => {
      const r1 = await b.txn([{ key: "/c/a", modRevision: 0 }], [{ type: "put", key: "/c/a", value: enc("1") }]);
      expect(r1.succeeded).toBe(true);
      const r2 = await b.txn([{ key: "/c/a", modRevision: 0 }], [{ type: "put", key: "/c/a", value: enc("2") }]);
      expect(r2.succeeded).toBe(false);
      expect(r2.revision).toBe(r1.revision);
      const { kvs, revision } = await b.list("/c/");
      expect(kvs.map((kv) => [kv.key, dec(kv.value), kv.modRevision, kv.createRevision])).toEqual([
        ["/c/a", "1", r1.revision, r1.revision],
      ]);
      expect(revision).toBeGreaterThanOrEqual(r1.revision);
    });

    it("compares mod revisions and applies all ops at one revision", async () => {
      const r1 = await b.txn([], [
        { type: "put", key: "/t/a", value: enc("a") },
        { type: "put", key: "/t/b", value: enc("b") },
      ]);
      const stale = await b.txn([{ key: "/t/a", modRevision: r1.revision - 1 }], [{ type: "delete", key: "/t/b" }]);
      expect(stale.succeeded).toBe(false);
      const ok = await b.txn(
        [{ key: "/t/a", modRevision: r1.revision }, { key: "/t/b", modRevision: r1.revision }],
        [{ type: "put", key: "/t/a", value: enc("a2") }, { type: "delete", key: "/t/b" }],
      );
      expect(ok.succeeded).toBe(true);
      const { kvs } = await b.list("/t/");
      expect(kvs.map((kv) => [kv.key, dec(kv.value), kv.modRevision, kv.createRevision])).toEqual([
        ["/t/a", "a2", ok.revision, r1.revision],
      ]);
    });

    it("lists only keys under the prefix", async () => {
      await b.txn([], [{ type: "put", key: "/p/x", value: enc("x") }, { type: "put", key: "/px", value: enc("no") }]);
      expect((await b.list("/p/")).kvs.map((kv) => kv.key)).toEqual(["/p/x"]);
    });

    it("watches from a revision with previous values, one batch per revision", async () => {
      const start = (await b.list("/w/")).revision;
      const r1 = await b.txn([], [{ type: "put", key: "/w/a", value: enc("1") }, { type: "put", key: "/w/b", value: enc("1") }]);
      await b.txn([], [{ type: "put", key: "/other", value: enc("x") }]);
      const r2 = await b.txn([], [{ type: "put", key: "/w/a", value: enc("2") }]);
      const r3 = await b.txn([], [{ type: "delete", key: "/w/b" }]);
      const batches = await collect(b, "/w/", start, 3);
      const flat = batches.map((batch) =>
        batch.map((e) => [e.type, e.kv.key, e.kv.modRevision, e.prev ? dec(e.prev.value) : undefined]),
      );
      expect(flat).toEqual([
        [["put", "/w/a", r1.revision, undefined], ["put", "/w/b", r1.revision, undefined]],
        [["put", "/w/a", r2.revision, "1"]],
        [["delete", "/w/b", r3.revision, "1"]],
      ]);
      // Resuming from the middle skips what was already seen.
      const tail = await collect(b, "/w/", r2.revision, 1);
      expect(tail[0]?.[0]?.kv.modRevision).toBe(r3.revision);
    });

    it("delivers live events and ends when the signal aborts", async () => {
      const from = (await b.list("/live/")).revision;
      const ac = new AbortController();
      const seen: string[] = [];
      const done = (async () => {
        for await (const batch of b.watch("/live/", from, ac.signal)) {
          for (const e of batch) seen.push(e.kv.key);
          if (seen.length === 2) ac.abort();
        }
      })();
      await new Promise((r) => setTimeout(r, 50));
      await b.txn([], [{ type: "put", key: "/live/1", value: enc("") }]);
      await b.txn([], [{ type: "put", key: "/live/2", value: enc("") }]);
      await done;
      expect(seen).toEqual(["/live/1", "/live/2"]);
      const idle = new AbortController();
      const idleDone = (async () => {
        for await (const _ of b.watch("/idle/", from, idle.signal)) void _;
      })();
      setTimeout(() => idle.abort(), 50);
      await idleDone; // ends, does not hang
    });

    it("throws CompactedError when the start revision is compacted", async () => {
      const r1 = await b.txn([], [{ type: "put", key: "/k/a", value: enc("1") }]);
      const r2 = await b.txn([], [{ type: "put", key: "/k/a", value: enc("2") }]);
      await compact(r2.revision);
      await expect(collect(b, "/k/", r1.revision - 1, 1)).rejects.toBeInstanceOf(CompactedError);
      const r3 = await b.txn([], [{ type: "put", key: "/k/a", value: enc("3") }]);
      const ok = await collect(b, "/k/", r2.revision, 1);
      expect(ok[0]?.[0]?.kv.modRevision).toBe(r3.revision);
    });

    it("rejects more ops than maxTxnOps", async () => {
      const ops = Array.from({ length: b.maxTxnOps + 1 }, (_, i) => ({ type: "put" as const, key: `/m/${i}`, value: enc("") }));
      await expect(b.txn([], ops)).rejects.toThrow(/maxTxnOps/);
    });
  });
}

const memory = new MemoryBackend({ maxTxnOps: 64 });
backendConformance("memory", () => memory, (rev) => Promise.resolve(memory.compact(rev)));

let etcd: TempEtcd | undefined;
beforeAll(async () => {
  etcd = await startTempEtcd({ maxTxnOps: 64 });
}, 30_000);
afterAll(async () => {
  await etcd?.dispose();
});
backendConformance(
  "etcd",
  () => new EtcdBackend({ endpoints: [etcd!.endpoint], maxTxnOps: 64 }),
  async (revision) => {
    const admin = new Etcd3({ hosts: etcd!.endpoint });
    try {
      await admin.kv.compact({ revision: String(revision), physical: true });
    } finally {
      admin.close();
    }
  },
);
