/**
 * controlService is the thin gRPC face of the Control API: decode, delegate to the manager's
 * ControlApi (or to the daemon for swarm init), encode. No logic lives here.
 */
import { NotManagerError, type ControlService, type ServiceHandlers } from "@tsctl/api";
import { serviceLogs, type ControlApi } from "@tsctl/manager";
import type { Daemon } from "./daemon.js";

export function controlService(daemon: Daemon): ServiceHandlers<typeof ControlService> {
  const api = (): ControlApi => {
    const m = daemon.manager;
    if (!m) throw new NotManagerError();
    return m.controlApi;
  };
  return {
    initSwarm: async (req) => daemon.initSwarm(req),
    getSwarm: async () => {
      const m = daemon.manager;
      if (!m) throw new NotManagerError();
      return { cluster: m.cluster() };
    },
    createService: async (req) => ({ service: await api().createService(req.spec) }),
    getService: async (req) => ({ service: api().getService(req.serviceId) }),
    updateService: async (req) => ({ service: await api().updateService(req.serviceId, req.version, req.spec, req.rollback) }),
    removeService: async (req) => {
      await api().removeService(req.serviceId);
      return {};
    },
    listServices: async (req) => ({ services: api().listServices({ names: req.names, idPrefixes: req.idPrefixes }) }),
    listTasks: async (req) => ({
      tasks: api().listTasks({ serviceIds: req.serviceIds, nodeIds: req.nodeIds, desiredStates: req.desiredStates }),
    }),
    getTask: async (req) => ({ task: api().getTask(req.taskId) }),
    listNodes: async () => ({ nodes: api().listNodes() }),
    getNode: async (req) => ({ node: api().getNode(req.nodeId) }),
    updateNode: async (req) => ({ node: await api().updateNode(req.nodeId, req.version, req.spec) }),
    serviceLogs: (req, ctx) => {
      const m = daemon.manager;
      if (!m) throw new NotManagerError();
      return serviceLogs(m.store, m.dispatcher, req, ctx.signal);
    },
  };
}
