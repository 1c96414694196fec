/**
 * controlService is the thin gRPC face of the Control API: decode, delegate to the manager's
 * ControlApi (or to the daemon for swarm init), encode. No logic lives here.
 */
import type { ControlService, ServiceHandlers } from "@tsctl/api";
import { serviceLogs, type ControlApi } from "@tsctl/manager";
import type { Daemon } from "./daemon.js";

export function controlService(daemon: Daemon): ServiceHandlers<typeof ControlService> {
  const api = async (): Promise<ControlApi> => (await daemon.awaitManager()).controlApi;
  return {
    initSwarm: async (req) => daemon.initSwarm(req),
    getSwarm: async () => ({ cluster: (await daemon.awaitManager()).cluster() }),
    createService: async (req) => ({ service: await (await api()).createService(req.spec) }),
    getService: async (req) => ({ service: (await api()).getService(req.serviceId) }),
    updateService: async (req) => ({ service: await (await api()).updateService(req.serviceId, req.version, req.spec, req.rollback) }),
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
    updateNode: async (req) => ({ node: await (await api()).updateNode(req.nodeId, req.version, req.spec) }),
    serviceLogs: async function* (req, ctx) {
      const m = await daemon.awaitManager();
      yield* serviceLogs(m.store, m.dispatcher, req, ctx.signal);
    },
  };
}
