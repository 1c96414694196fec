import { UnavailableError, grpc, type CallContext, type ControlService, type ServiceHandlers } from "@tsctl/api";
import { describe, expect, it } from "vitest";
import { routedControlService } from "./control-routing.js";
import type { Daemon } from "./daemon.js";

function ctx(forwardedBy?: string, deadlineMs?: number): CallContext {
  const metadata = new grpc.Metadata();
  if (forwardedBy) metadata.set("tsctl-forwarded-by", forwardedBy);
  if (deadlineMs) metadata.set("tsctl-forward-deadline-ms", String(deadlineMs));
  return { metadata, signal: new AbortController().signal, peer: "test" };
}

function setup(opts: { leader: boolean; leaderKnown: boolean; failWith?: Error }) {
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
              if (opts.failWith) throw opts.failWith;
              return { nodes: [] };
            },
    },
  );
  const daemon = {
    awaitManager: async () => ({ isLeader: opts.leader, nodeId: "self", leader: () => ({ nodeId: "m1", addr: "10.0.0.1:2377" }) }),
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

  it("refuses on the leader a forwarded call that arrives after its deadline", async () => {
    const { routed } = setup({ leader: true, leaderKnown: true });
    await expect(routed["listNodes"]!({}, ctx("m2", Date.now() - 1))).rejects.toThrow(/after its deadline; it was not applied/);
    expect(await routed["listNodes"]!({}, ctx("m2", Date.now() + 10_000))).toEqual({ nodes: [{ id: "local" }] });
  });

  it("says a forward that broke off may still land, naming the leader, not the local daemon", async () => {
    const { routed, forwarded } = setup({ leader: false, leaderKnown: true, failWith: new UnavailableError("No connection established") });
    await expect(routed["listNodes"]!({}, ctx())).rejects.toThrow(/lost contact with the leader \(10\.0\.0\.1:2377\).*may still be applied/);
    expect(Number(forwarded[0]!.opts.metadata!["tsctl-forward-deadline-ms"])).toBeGreaterThan(Date.now());
  });

  it("keeps this node's own membership calls local", async () => {
    const { routed, forwarded } = setup({ leader: false, leaderKnown: true });
    await routed["leaveSwarm"]!({}, ctx());
    expect(forwarded).toEqual([]);
  });
});
