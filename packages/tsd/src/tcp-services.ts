/**
 * The services a manager serves to other nodes on its TCP listener, each guarded by the caller's
 * certificate: the CA's join calls are open (the token is the credential), the dispatcher takes
 * any node of this swarm (registering only as itself), the Control API and membership calls only
 * managers.
 */
import {
  ControlService,
  DispatcherService,
  MembershipService,
  NodeCAService,
  NodeRole,
  PermissionDeniedError,
  addService,
  type CallContext,
  type ServiceHandlers,
  type grpc,
} from "@tsctl/api";
import type { Daemon } from "./daemon.js";
import { guard } from "./guard.js";
import type { PeerVerifier } from "./tls/peer-identity.js";

export function registerTcpServices(server: grpc.Server, daemon: Daemon, verifier: PeerVerifier, control: ServiceHandlers<typeof ControlService>): void {
  /**
   * managerOnly wants a manager certificate of a node the cluster still holds for a manager: a
   * demoted node keeps its old certificate until it expires, and must not keep its rights.
   */
  const managerOnly = (ctx: CallContext, what: string) => {
    const id = verifier.require(ctx, "manager", what);
    const node = daemon.manager?.store.view((tx) => tx.get("node", id.nodeId));
    if (node && node.spec?.desiredRole !== NodeRole.MANAGER) {
      throw new PermissionDeniedError(`permission denied: ${what} needs a manager; node ${id.nodeId} was demoted`);
    }
    return id;
  };

  addService(server, NodeCAService, {
    getRootCACertificate: async () => ({ caCertPem: (await daemon.awaitManager()).nodeCa.rootCaCertificate() }),
    issueNodeCertificate: async (req) => (await daemon.awaitManager()).nodeCa.admit(req),
    renewNodeCertificate: async (req, ctx) => {
      const caller = verifier.identify(ctx);
      return (await daemon.awaitManager()).nodeCa.renew(caller, req.csrPem);
    },
  });

  addService(server, DispatcherService, {
    session: async function* (reqs, ctx) {
      const caller = verifier.identify(ctx);
      const manager = await daemon.awaitManager();
      const dispatcher = manager.dispatcher;
      if (!dispatcher) {
        // Followers do not hold sessions: send the agent to the leader.
        yield { msg: { case: "redirect", value: { leaderAddr: manager.leader()?.addr ?? "", managers: manager.managers() } } };
        return;
      }
      yield* dispatcher.session(reqs, ctx, caller.nodeId);
    },
  });

  addService(server, ControlService, guard(ControlService, control, (ctx, m) => {
    if (m.localName === "initSwarm" || m.localName === "joinSwarm" || m.localName === "leaveSwarm") {
      throw new PermissionDeniedError(`permission denied: ${m.name} is only served on the node's local socket`);
    }
    managerOnly(ctx, `the Control API (${m.name})`);
  }));

  addService(server, MembershipService, guard(MembershipService, {
    joinEtcd: async (req, ctx) => (await daemon.awaitManager()).admitEtcdMember(verifier.identify(ctx).nodeId, req.peerUrl),
    promoteEtcd: async (_req, ctx) => {
      await (await daemon.awaitManager()).promoteEtcdMember(verifier.identify(ctx).nodeId);
      return {};
    },
    leaveEtcd: async (_req, ctx) => {
      await (await daemon.awaitManager()).removeEtcdMemberOf(verifier.identify(ctx).nodeId);
      return {};
    },
    ping: async () => {
      const m = await daemon.awaitManager();
      return { nodeId: m.nodeId, leader: m.isLeader };
    },
  }, (ctx, m) => void managerOnly(ctx, `${m.name}`)));
}
