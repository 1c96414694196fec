/**
 * controlapi owns what users may ask of the cluster: validation, lookups by id/name/prefix and
 * compare-and-swap updates of services and nodes. It never creates or changes tasks itself
 * (the orchestrator does), and it never talks gRPC (control-service.ts in tsd does).
 */
export { ControlApi, type ManagerView, type ServiceCounts, type TaskFilter } from "./control-api.js";
export { SwarmApi, type EtcdMembership } from "./swarm-api.js";
export { serviceLogs } from "./service-logs.js";
export { validateServiceSpec, validateNodeSpec, validateName } from "./validate-spec.js";
export { findService, findNode, findTask } from "./lookup.js";
