import { create } from "@bufbuild/protobuf";
import { NodeSchema, NodeState } from "@tsctl/api";
import { afterEach, expect, it } from "vitest";
import { MemoryBackend, openStore } from "../store/index.js";
import type { Store } from "../store/types.js";
import { NodeHealth } from "./node-health.js";

let store: Store | undefined;
let health: NodeHealth | undefined;
afterEach(async () => {
  health?.stop();
  await store?.close();
});

async function until(fn: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

it("marks a silent node down, and ready again when its heartbeats resume", async () => {
  store = await openStore(new MemoryBackend());
  await store.update((tx) => tx.create("node", create(NodeSchema, { id: "n1", status: { state: NodeState.READY } })));
  const state = () => store!.view((tx) => tx.get("node", "n1")?.status?.state);
  health = new NodeHealth(store, () => 100);
  health.start();

  // Within the grace period (3 heartbeats) beats keep it ready.
  for (let i = 0; i < 5; i++) {
    health.beat("n1");
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(state()).toBe(NodeState.READY);

  await until(() => state() === NodeState.DOWN);
  expect(store.view((tx) => tx.get("node", "n1")?.status?.message)).toBe("heartbeat failure");

  health.beat("n1");
  await until(() => state() === NodeState.READY);
});
