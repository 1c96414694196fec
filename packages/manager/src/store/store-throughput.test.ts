import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTempEtcd, type TempEtcd } from "../etcd/temp-etcd.js";
import { EtcdBackend } from "./etcd-backend.js";
import { MemoryBackend } from "./memory-backend.js";
import { openStore } from "./object-store.js";
import { newTask } from "./testing.js";
import type { Backend } from "./types.js";

const SEQUENTIAL = 300;
const BATCH = 5_000;

/** measure prints puts/s of sequential single-object updates and of one 5,000-task batch. */
async function measure(label: string, backend: Backend, batchTxnOps = 1_000): Promise<void> {
  const store = await openStore(backend, { log: () => undefined, batchTxnOps });
  try {
    let t0 = performance.now();
    for (let i = 0; i < SEQUENTIAL; i++) await store.update((tx) => tx.create("task", newTask(`seq-${label}`, "", i)));
    const seq = SEQUENTIAL / ((performance.now() - t0) / 1000);

    t0 = performance.now();
    const res = await store.batch((tx) => {
      for (let i = 0; i < BATCH; i++) tx.create("task", newTask(`batch-${label}`, "", i));
    });
    const batch = BATCH / ((performance.now() - t0) / 1000);
    expect(res).toEqual({ committed: BATCH, conflicts: 0 });
    expect(store.view((tx) => tx.tasksByService(`batch-${label}`)).length).toBe(BATCH);
    console.log(
      `[throughput] ${label}: sequential update() ${seq.toFixed(0)} puts/s; ` +
        `batch of ${BATCH} creates (${Math.ceil(BATCH / Math.min(batchTxnOps, backend.maxTxnOps))} txns) ${batch.toFixed(0)} puts/s`,
    );
  } finally {
    await store.close();
    await backend.close();
  }
}

describe("store throughput", () => {
  let etcd: TempEtcd | undefined;
  beforeAll(async () => {
    etcd = await startTempEtcd({ maxTxnOps: 10_000 });
  }, 30_000);
  afterAll(async () => {
    await etcd?.dispose();
  });

  it("memory", () => measure("memory", new MemoryBackend()), 60_000);
  const backend = (): Backend => new EtcdBackend({ endpoints: [etcd!.endpoint], maxTxnOps: 10_000 });
  it("etcd, one txn", () => measure("etcd-one-txn", backend(), 10_000), 120_000);
  it("etcd, 1,000-op txns", () => measure("etcd", backend()), 120_000);
});
