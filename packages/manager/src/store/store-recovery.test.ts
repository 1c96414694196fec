import { UnavailableError, isTsctlError } from "@tsctl/api";
import { afterEach, describe, expect, it } from "vitest";
import { startTempEtcd, type TempEtcd } from "../etcd/temp-etcd.js";
import { encode, objectKey } from "./codec.js";
import { EtcdBackend } from "./etcd-backend.js";
import { MemoryBackend } from "./memory-backend.js";
import { openStore } from "./object-store.js";
import { newTask } from "./testing.js";
import type { StoreEvent } from "./types.js";

const quiet = { log: () => undefined, retryDelay: () => 50 };

/** eventually polls cond until it holds or the deadline passes. */
async function eventually(cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("store recovery over memory", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  it("resumes a broken watch from the last applied revision", async () => {
    const backend = new MemoryBackend();
    const store = await openStore(backend, quiet);
    cleanup.push(() => store.close());
    const seen: string[] = [];
    store.subscribe((events) => seen.push(...events.map((e) => `${e.type}:${e.object.id}`)));
    const a = newTask("s");
    await store.update((tx) => tx.create("task", a));
    backend.breakWatches();
    const b = newTask("s");
    await backend.txn([], [{ type: "put", key: objectKey("task", b.id), value: encode("task", b) }]);
    await eventually(() => store.view((tx) => tx.get("task", b.id)) !== undefined);
    await store.update((tx) => tx.create("task", newTask("s"))); // writes still read-your-writes
    expect(seen.slice(0, 2)).toEqual([`create:${a.id}`, `create:${b.id}`]);
  });

  it("re-lists after compaction and emits the differences as events", async () => {
    const backend = new MemoryBackend();
    const store = await openStore(backend, quiet);
    cleanup.push(() => store.close());
    const gone = newTask("s");
    const kept = newTask("s");
    await store.update((tx) => {
      tx.create("task", gone);
      tx.create("task", kept);
    });
    const events: StoreEvent[] = [];
    store.subscribe((e) => events.push(...e));
    // The memory backend applies these synchronously, before the store's watch can resume.
    backend.breakWatches();
    const added = newTask("s");
    await backend.txn([], [{ type: "put", key: objectKey("task", added.id), value: encode("task", added) }]);
    const r = await backend.txn([], [{ type: "delete", key: objectKey("task", gone.id) }]);
    backend.compact(r.revision);
    await eventually(() => store.revision >= r.revision);
    await eventually(() => events.length === 2);
    expect(events.map((e) => `${e.type}:${e.object.id}`).sort()).toEqual([`create:${added.id}`, `delete:${gone.id}`].sort());
    expect(store.view((tx) => tx.list("task")).map((t) => t.id).sort()).toEqual([kept.id, added.id].sort());
  });
});

describe("store recovery over etcd", () => {
  let etcd: TempEtcd | undefined;
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
    await etcd?.dispose();
  });

  it("converges after etcd is killed with SIGKILL and restarted by its supervisor", async () => {
    etcd = await startTempEtcd({ restartDelay: () => 500, log: () => undefined });
    const backend = new EtcdBackend({ endpoints: [etcd.endpoint], callTimeoutMs: 2000 });
    cleanup.push(() => backend.close());
    const store = await openStore(backend, quiet);
    cleanup.push(() => store.close());
    const before = newTask("s");
    await store.update((tx) => tx.create("task", before));
    const firstPid = etcd.handle.pid;
    process.kill(firstPid, "SIGKILL"); // the test's own child, by PID

    // While etcd is down, writes fail as Unavailable rather than hanging.
    await expect(store.update((tx) => tx.create("task", newTask("s")))).rejects.toSatisfy((e) =>
      isTsctlError(e, "Unavailable"),
    );
    await eventually(() => etcd!.handle.restarts === 1);
    await etcd.handle.ready();
    expect(etcd.handle.pid).not.toBe(firstPid);

    // Another writer's change made after the restart reaches the copy through the resumed watch.
    const other = new EtcdBackend({ endpoints: [etcd.endpoint] });
    cleanup.push(() => other.close());
    const outside = newTask("s");
    await other.txn([], [{ type: "put", key: objectKey("task", outside.id), value: encode("task", outside) }]);
    await eventually(() => store.view((tx) => tx.get("task", outside.id)) !== undefined);

    // And the store writes again once the client reconnects.
    const after = newTask("s");
    await eventually(async () => {
      try {
        await store.update((tx) => tx.create("task", after));
        return true;
      } catch (err) {
        if (err instanceof UnavailableError) return false;
        throw err;
      }
    });
    expect(store.view((tx) => tx.list("task")).map((t) => t.id)).toEqual(
      expect.arrayContaining([before.id, outside.id, after.id]),
    );
  }, 60_000);
});
