import { clone } from "@bufbuild/protobuf";
import { AlreadyExistsError, NotFoundError, ServiceSchema, TaskSchema, UpdateOutOfSequenceError } from "@tsctl/api";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTempEtcd, type TempEtcd } from "../etcd/temp-etcd.js";
import { encode, objectKey } from "./codec.js";
import { EtcdBackend } from "./etcd-backend.js";
import { MemoryBackend } from "./memory-backend.js";
import { openStore } from "./object-store.js";
import { HookedBackend, newService, newTask } from "./testing.js";
import type { Backend, Store, StoreEvent } from "./types.js";

const quiet = { log: () => undefined, retryDelay: () => 20 };

/** storeSuite runs the Store contract over backends made by factory (fresh client per test). */
function storeSuite(name: string, factory: (maxTxnOps?: number) => Backend): void {
  describe(`ObjectStore over ${name}`, () => {
    const open: { store: Store; backend: Backend }[] = [];
    const setup = async (maxTxnOps?: number): Promise<{ store: Store; backend: HookedBackend }> => {
      const backend = new HookedBackend(factory(maxTxnOps));
      const store = await openStore(backend, quiet);
      open.push({ store, backend });
      return { store, backend };
    };
    afterEach(async () => {
      for (const { store, backend } of open.splice(0)) {
        await store.close();
        await backend.close();
      }
    });

    it("reads its own writes with version = mod revision, and rejects stale versions", async () => {
      const { store, backend } = await setup();
      const task = newTask("svc-a", "node-1");
      await store.update((tx) => tx.create("task", task));
      const stored = store.view((tx) => tx.get("task", task.id));
      expect(stored?.meta?.version).toBe(store.revision);
      expect(store.view((tx) => tx.tasksByNode("node-1")).map((t) => t.id)).toContain(task.id);
      expect(task.meta).toBeUndefined(); // the caller's object was cloned, not stamped

      const next = clone(TaskSchema, stored!);
      next.nodeId = "node-2";
      await store.update((tx) => tx.update("task", next));
      expect(store.view((tx) => tx.tasksByNode("node-1")).map((t) => t.id)).not.toContain(task.id);
      // Stale in the copy: caught before any txn.
      await expect(store.update((tx) => tx.update("task", next))).rejects.toBeInstanceOf(UpdateOutOfSequenceError);
      // Stale only in the backend: another writer wins between fn and commit.
      const current = clone(TaskSchema, store.view((tx) => tx.get("task", task.id))!);
      backend.beforeNextTxn(() =>
        backend.inner.txn([], [{ type: "put", key: objectKey("task", task.id), value: encode("task", current) }]),
      );
      current.nodeId = "node-3";
      await expect(store.update((tx) => tx.update("task", current))).rejects.toBeInstanceOf(UpdateOutOfSequenceError);
      await expect(store.update((tx) => tx.delete("task", "nope", 5))).rejects.toBeInstanceOf(NotFoundError);
    });

    it("keeps service names unique, and a rename frees the old name", async () => {
      const { store, backend } = await setup();
      const name = `web-${Math.random().toString(36).slice(2, 8)}`;
      const a = newService(name);
      await store.update((tx) => tx.create("service", a));
      await expect(store.update((tx) => tx.create("service", newService(name)))).rejects.toThrow(
        new AlreadyExistsError(`service name ${name} is already in use`),
      );
      // The same race decided by etcd's name key instead of the copy.
      const raced = newService(`${name}-race`);
      backend.beforeNextTxn(() => store.update((tx) => tx.create("service", newService(`${name}-race`))));
      await expect(store.update((tx) => tx.create("service", raced))).rejects.toBeInstanceOf(AlreadyExistsError);

      const renamed = clone(ServiceSchema, store.view((tx) => tx.serviceByName(name))!);
      renamed.spec!.annotations!.name = `${name}-2`;
      await store.update((tx) => tx.update("service", renamed));
      const again = newService(name);
      await store.update((tx) => tx.create("service", again));
      expect(store.view((tx) => tx.serviceByName(name))?.id).toBe(again.id);
      expect(store.view((tx) => tx.serviceByName(`${name}-2`))?.id).toBe(a.id);
      // Deleting frees the name too.
      const v = store.view((tx) => tx.get("service", again.id))!.meta!.version;
      await store.update((tx) => tx.delete("service", again.id, v));
      await store.update((tx) => tx.create("service", newService(name)));
    });

    it("lets a WriteTx read its own pending writes", async () => {
      const { store } = await setup();
      const svc = newService(`tx-${Math.random().toString(36).slice(2, 8)}`);
      const n = await store.update((tx) => {
        tx.create("service", svc);
        for (let slot = 1; slot <= 3; slot++) tx.create("task", newTask(svc.id, "", slot));
        expect(tx.serviceByName(svc.spec!.annotations!.name)?.id).toBe(svc.id);
        return tx.tasksByService(svc.id).length;
      });
      expect(n).toBe(3);
      expect(store.view((tx) => tx.tasksByService(svc.id)).length).toBe(3);
    });

    it("tells subscribers create, update and delete after the copy applied them", async () => {
      const { store } = await setup();
      const seen: [string, string, number][] = [];
      const unsubscribe = store.subscribe((events: StoreEvent[]) => {
        for (const e of events) {
          const inCopy = store.view((tx) => tx.get(e.kind, e.object.id)) !== undefined;
          seen.push([e.type, e.kind, inCopy ? 1 : 0]);
        }
      });
      const t = newTask("svc-sub");
      await store.update((tx) => tx.create("task", t));
      const stored = clone(TaskSchema, store.view((tx) => tx.get("task", t.id))!);
      stored.nodeId = "n1";
      await store.update((tx) => tx.update("task", stored));
      await store.update((tx) => tx.delete("task", t.id, store.view((r) => r.get("task", t.id))!.meta!.version));
      unsubscribe();
      expect(seen).toEqual([["create", "task", 1], ["update", "task", 1], ["delete", "task", 0]]);
    });

    it("batches more writes than maxTxnOps and counts a conflict instead of throwing", async () => {
      const { store, backend } = await setup(16);
      const victim = newTask("svc-batch");
      await store.update((tx) => tx.create("task", victim));
      const stored = clone(TaskSchema, store.view((tx) => tx.get("task", victim.id))!);
      const bytes = encode("task", stored);
      backend.beforeNextTxn(() => backend.inner.txn([], [{ type: "put", key: objectKey("task", victim.id), value: bytes }]));
      const svc = `svc-batch-${Math.random()}`;
      const res = await store.batch((tx) => {
        for (let i = 0; i < 100; i++) tx.create("task", newTask(svc, "", i));
        stored.nodeId = "moved";
        tx.update("task", stored);
        tx.delete("task", "missing", 3); // the copy already proves this one fails: counted at once
      });
      expect(res).toEqual({ committed: 100, conflicts: 2 });
      expect(store.view((tx) => tx.tasksByService(svc)).length).toBe(100);
      expect(store.view((tx) => tx.get("task", victim.id))?.nodeId).toBe("");
    });
  });
}

storeSuite("memory", (maxTxnOps) => new MemoryBackend(maxTxnOps === undefined ? {} : { maxTxnOps }));

let etcd: TempEtcd | undefined;
beforeAll(async () => {
  etcd = await startTempEtcd();
}, 30_000);
afterAll(async () => {
  await etcd?.dispose();
});
storeSuite("etcd", (maxTxnOps) => new EtcdBackend({ endpoints: [etcd!.endpoint], ...(maxTxnOps ? { maxTxnOps } : {}) }));
