import { grpc, type CallContext, type ControlService, type ServiceHandlers } from "@tsctl/api";
import { describe, expect, it } from "vitest";
import { routedControlService } from "./control-routing.js";
import type { Daemon } from "./daemon.js";

function ctx(forwardedBy?: string): CallContext {
  const metadata = new grpc.Metadata();
  if (forwardedBy) metadata.set("tsctl-forwarded-by", forwardedBy);
  return { metadata, signal: new AbortController().signal, peer: "test" };
}

function setup(opts: { leader: boolean; leaderKnown: boolean }) {
  const forwarded: { method: string; req: unknown; opts: { metadata?: Record<string, string> } }[] = [];
  const client = new Proxy(
    {},
    {
      get: (_t, method: string) =>
        method === "serviceLogs"
          ? async function* (req: unknown, o: never) {
              forwarded.push({ method, req, opts: o });
              yield { data: new TextEncoder().encode("from leader") };
            }
          : async (req: unknown, o: never) => {
              forwarded.push({ method, req, opts: o });
              return { nodes: [] };
            },
    },
  );
  const daemon = {
    awaitManager: async () => ({ isLeader: opts.leader, nodeId: "self" }),
    leaderControlClient: () => (opts.leaderKnown ? client : undefined),
  } as unknown as Daemon;
  const local = {
    listNodes: async () => ({ nodes: [{ id: "local" }] }),
    leaveSwarm: async () => ({}),
    serviceLogs: async function* () {
      yield { data: new TextEncoder().encode("local") };
    },
  } as unknown as ServiceHandlers<typeof ControlService>;
  return { routed: routedControlService(daemon, local) as unknown as Record<string, (r: unknown, c: CallContext) => unknown>, forwarded };
}

async function collect(it: AsyncIterable<{ data: Uint8Array }>): Promise<string[]> {
  const out: string[] = [];
  for await (const m of it) out.push(new TextDecoder().decode(m.data));
  return out;
}

describe("routedControlService", () => {
  it("answers on the leader", async () => {
    const { routed, forwarded } = setup({ leader: true, leaderKnown: true });
    expect(await routed["listNodes"]!({}, ctx())).toEqual({ nodes: [{ id: "local" }] });
    expect(forwarded).toEqual([]);
  });

  it("forwards from a follower with the hop marker, streams included", async () => {
    const { routed, forwarded } = setup({ leader: false, leaderKnown: true });
    expect(await routed["listNodes"]!({ x: 1 }, ctx())).toEqual({ nodes: [] });
    expect(forwarded[0]).toMatchObject({ method: "listNodes", req: { x: 1 }, opts: { metadata: { "tsctl-forwarded-by": "self" } } });
    expect(await collect(routed["serviceLogs"]!({}, ctx()) as AsyncIterable<{ data: Uint8Array }>)).toEqual(["from leader"]);
  });

  it("refuses instead of forwarding twice, and when no leader is known", async () => {
    const twice = setup({ leader: false, leaderKnown: true });
    await expect(twice.routed["listNodes"]!({}, ctx("m2"))).rejects.toThrow(/no leader/);
    expect(twice.forwarded).toEqual([]);
    const none = setup({ leader: false, leaderKnown: false });
    await expect(none.routed["listNodes"]!({}, ctx())).rejects.toMatchObject({ code: "Unavailable" });
  });

  it("keeps this node's own membership calls local", async () => {
    const { routed, forwarded } = setup({ leader: false, leaderKnown: true });
    await routed["leaveSwarm"]!({}, ctx());
    expect(forwarded).toEqual([]);
  });
});
