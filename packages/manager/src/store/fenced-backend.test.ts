import { describe, expect, it } from "vitest";
import { FencedBackend, NotLeaderError } from "./fenced-backend.js";
import { MemoryBackend } from "./memory-backend.js";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("FencedBackend", () => {
  it("writes while the fence holds, reports plain conflicts as such, and refuses once the fence moved", async () => {
    const inner = new MemoryBackend();
    const leader = await inner.txn([{ key: "/l", modRevision: 0 }], [{ type: "put", key: "/l", value: bytes("m1") }]);
    const fenced = new FencedBackend(inner);
    fenced.setFence({ key: "/l", modRevision: leader.revision });

    expect((await fenced.txn([], [{ type: "put", key: "/a", value: bytes("1") }])).succeeded).toBe(true);
    // A compare-and-swap conflict with the fence intact is an ordinary failed txn.
    expect((await fenced.txn([{ key: "/a", modRevision: 0 }], [{ type: "put", key: "/a", value: bytes("2") }])).succeeded).toBe(false);

    // Another manager takes the leader key: the old leader's writes now fail loudly.
    await inner.txn([], [{ type: "delete", key: "/l" }]);
    await inner.txn([{ key: "/l", modRevision: 0 }], [{ type: "put", key: "/l", value: bytes("m2") }]);
    await expect(fenced.txn([], [{ type: "put", key: "/b", value: bytes("1") }])).rejects.toBeInstanceOf(NotLeaderError);
    expect((await inner.list("/b")).kvs).toEqual([]);

    fenced.setFence(undefined);
    expect((await fenced.txn([], [{ type: "put", key: "/b", value: bytes("1") }])).succeeded).toBe(true);
  });
});
