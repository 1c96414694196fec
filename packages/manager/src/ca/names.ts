/** NodeRoleName is the role a node certificate grants; it is carried in the subject's OU. */
export type NodeRoleName = "manager" | "worker";

/** managerOu and workerOu are the OU values of node certificates. */
export const managerOu = "tsctl-manager";
export const workerOu = "tsctl-worker";

/**
 * managerSanDns is the DNS SAN every manager certificate carries. etcd is started with
 * --peer-cert-allowed-hostname=tsctl-manager, so only managers can be etcd peers.
 */
export const managerSanDns = "tsctl-manager";

/** caCommonName is the subject CN of every cluster's root CA. */
export const caCommonName = "tsctl cluster CA";

/** ouForRole maps a role to the OU that encodes it. */
export function ouForRole(role: NodeRoleName): string {
  return role === "manager" ? managerOu : workerOu;
}

/** roleForOu maps an OU back to its role, or undefined when the OU is not one of ours. */
export function roleForOu(ou: string): NodeRoleName | undefined {
  if (ou === managerOu) return "manager";
  if (ou === workerOu) return "worker";
  return undefined;
}
