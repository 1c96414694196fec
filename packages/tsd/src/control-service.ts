/**
 * controlService is the thin gRPC face of the Control API on the leader: decode, delegate to the
 * manager's ControlApi / SwarmApi (or to the daemon for node-local swarm membership), encode.
 * routedControlService in front of it sends calls a follower receives to the leader.
 */
import type { ControlService, ServiceHandlers } from "@tsctl/api";
import { serviceLogs, type ControlApi } from "@tsctl/manager";
import type { Daemon } from "./daemon.js";
import { pinImage } from "./image-pinning.js";

const credentialsOf = (auth: { username: string; password: string } | undefined) => (auth?.username ? { username: auth.username, password: auth.password } : undefined);

export function controlService(daemon: Daemon): ServiceHandlers<typeof ControlService> {
  const api = async (): Promise<ControlApi> => (await daemon.awaitManager()).controlApi;
  const swarm = async () => (await daemon.awaitManager()).swarmApi;
  return {
    initSwarm: async (req) => daemon.initSwarm(req),
    joinSwarm: async (req) => daemon.joinSwarm(req),
    leaveSwarm: async (req) => {
      await daemon.leaveSwarm(req.force);
      return {};
    },
    getSwarm: async () => ({ cluster: (await swarm()).getSwarm() }),
    updateSwarm: async (req) => ({
      cluster: await (await swarm()).updateSwarm(req.version, req.spec, req.rotateWorkerToken, req.rotateManagerToken),
    }),
    getJoinToken: async (req) => (await swarm()).joinToken(req.role, req.rotate),
    createService: async (req) => {
      const warnings = await pinImage(req.spec, daemon, { noResolve: req.noResolveImage, credentials: credentialsOf(req.registryAuth) });
      return { service: await (await api()).createService(req.spec), warnings };
    },
    getService: async (req) => ({ service: (await api()).getService(req.serviceId) }),
    updateService: async (req) => {
      const warnings = req.rollback ? [] : await pinImage(req.spec, daemon, { noResolve: req.noResolveImage, credentials: credentialsOf(req.registryAuth) });
      return { service: await (await api()).updateService(req.serviceId, req.version, req.spec, req.rollback), warnings };
    },
    removeService: async (req) => {
      await (await api()).removeService(req.serviceId);
      return {};
    },
    listServices: async (req) => ({ services: (await api()).listServices({ names: req.names, idPrefixes: req.idPrefixes }) }),
    listTasks: async (req) => {
      const tasks = (await api()).listTasks({ serviceIds: req.serviceIds, nodeIds: req.nodeIds, desiredStates: req.desiredStates });
      // A shallow copy without the spec: stored objects are shared and must not be changed.
      return { tasks: req.omitSpec ? tasks.map((t) => ({ ...t, spec: undefined })) : tasks };
    },
    getTask: async (req) => ({ task: (await api()).getTask(req.taskId) }),
    listNodes: async () => ({ nodes: (await api()).listNodes() }),
    getNode: async (req) => ({ node: (await api()).getNode(req.nodeId) }),
    updateNode: async (req) => ({ node: await (await daemon.awaitManager()).updateNode(req.nodeId, req.version, req.spec) }),
    removeNode: async (req) => {
      await (await swarm()).removeNode(req.nodeId, req.force);
      return {};
    },
    serviceLogs: async function* (req, ctx) {
      const m = await daemon.awaitManager();
      const dispatcher = m.dispatcher;
      if (!dispatcher) throw new Error("internal: service logs reached a manager that is not the leader");
      yield* serviceLogs(m.store, dispatcher, req, ctx.signal);
    },
  };
}
