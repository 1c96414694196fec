/**
 * routedControlService answers Control API calls on the leader and forwards them from followers,
 * so every manager accepts the CLI but one node decides: reads are as fresh as the leader's view,
 * and log streams reach the dispatcher that holds the agents' sessions. A forwarded call carries
 * a hop marker; a manager that receives one while not leading (leadership moved in between)
 * answers "no leader" instead of forwarding again.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import { ControlService, TsctlError, UnavailableError, type CallContext, type ServiceHandlers } from "@tsctl/api";
import type { Daemon } from "./daemon.js";

/** Calls about this node's own membership are always answered here. */
const nodeLocal = new Set(["initSwarm", "joinSwarm", "leaveSwarm"]);
const hopHeader = "tsctl-forwarded-by";
const deadlineHeader = "tsctl-forward-deadline-ms";
const forwardTimeoutMs = 20_000;

export const noLeaderMessage =
  "the swarm has no leader: too few managers are reachable (a majority must be up and connected); try again later";

type AnyHandler = (input: unknown, ctx: CallContext) => unknown;

/**
 * lostLeader rewords a transport failure of a forwarded call: the local daemon is fine, the leader
 * could not be reached, and a change sent before the connection broke may still be applied.
 */
function lostLeader(err: unknown, leader: { nodeId: string; addr: string } | undefined): unknown {
  if (!(err instanceof TsctlError) || err.code !== "Unavailable" || err.message === noLeaderMessage) return err;
  const who = leader ? `the leader (${leader.addr})` : "the leader";
  return new UnavailableError(
    `lost contact with ${who} while forwarding the request; a change may still be applied if it arrives within ${forwardTimeoutMs / 1000} s of sending: check before retrying`,
    err,
  );
}

export function routedControlService(daemon: Daemon, local: ServiceHandlers<typeof ControlService>): ServiceHandlers<typeof ControlService> {
  const out: Record<string, AnyHandler> = {};
  const handlers = local as unknown as Record<string, AnyHandler>;

  /** leaderClient returns undefined when this manager leads, the leader's client otherwise. */
  const route = async (ctx: CallContext) => {
    const manager = await daemon.awaitManager();
    if (manager.isLeader) {
      // A forwarded request held up in a partition can arrive long after its sender gave up; past
      // its deadline it is refused rather than applied behind everyone's back.
      const deadline = Number(ctx.metadata.get(deadlineHeader)[0] ?? 0);
      if (deadline > 0 && Date.now() > deadline) throw new UnavailableError("the forwarded request reached the leader after its deadline; it was not applied");
      return undefined;
    }
    if (ctx.metadata.get(hopHeader).length > 0) throw new UnavailableError(noLeaderMessage);
    const client = daemon.leaderControlClient();
    if (!client) throw new UnavailableError(noLeaderMessage);
    return {
      client: client as unknown as Record<string, (req: unknown, opts: unknown) => unknown>,
      opts: { signal: ctx.signal, metadata: { [hopHeader]: manager.nodeId, [deadlineHeader]: String(Date.now() + forwardTimeoutMs) } },
      leader: manager.leader(),
    };
  };

  for (const m of ControlService.methods as DescMethod[]) {
    const name = m.localName;
    const h = handlers[name]!;
    if (nodeLocal.has(name)) {
      out[name] = h;
    } else if (m.methodKind === "server_streaming") {
      out[name] = async function* (req, ctx) {
        const r = await route(ctx);
        if (!r) yield* h(req, ctx) as AsyncIterable<unknown>;
        else {
          try {
            yield* r.client[name]!(req, r.opts) as AsyncIterable<unknown>;
          } catch (err) {
            throw lostLeader(err, r.leader);
          }
        }
      };
    } else {
      out[name] = async (req, ctx) => {
        const r = await route(ctx);
        // A leader that vanished mid-call must not hang the CLI: unary calls get a deadline.
        if (!r) return h(req, ctx);
        try {
          return await (r.client[name]!(req, { ...r.opts, timeoutMs: forwardTimeoutMs }) as Promise<unknown>);
        } catch (err) {
          throw lostLeader(err, r.leader);
        }
      };
    }
  }
  return out as unknown as ServiceHandlers<typeof ControlService>;
}
