/**
 * NodeCa admits nodes and (re)issues their certificates with the cluster CA kept in the store. Any
 * manager can answer: the CA key lives in the Cluster object, and the Node object is created in
 * the same compare-and-swap write path as everything else, so two managers admitting nodes at
 * once cannot clash.
 */
import { create } from "@bufbuild/protobuf";
import {
  AnnotationsSchema,
  ManagerStatusSchema,
  MetaSchema,
  NodeAvailability,
  NodeRole,
  NodeSchema,
  NodeSpecSchema,
  NodeState,
  NodeStatusSchema,
  PermissionDeniedError,
  UnavailableError,
  newId,
  type Cluster,
  type IssueNodeCertificateRequest,
  type Node,
} from "@tsctl/api";
import { issueNodeCertificate, joinTokenMatches, parseJoinToken, type NodeIdentity, type NodeRoleName, type RootCa } from "../ca/index.js";
import type { Store } from "../store/types.js";

export const defaultNodeCertExpiryMs = 90 * 24 * 3600 * 1000;

export interface IssuedCertificate {
  nodeId: string;
  certPem: string;
  caCertPem: string;
  role: NodeRole;
  clusterId: string;
}

/** hostOf strips a port from "host:port" (and the brackets of "[v6]:port"). */
export function hostOf(addr: string): string {
  const m = /^\[(.*)\](?::\d+)?$/.exec(addr);
  if (m) return m[1]!;
  const parts = addr.split(":");
  return parts.length === 2 ? parts[0]! : addr;
}

export class NodeCa {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  private cluster(): Cluster {
    const c = this.store.view((tx) => tx.list("cluster")[0]);
    if (!c?.rootCa?.caCertPem) throw new UnavailableError("the swarm's certificate authority is not available yet");
    return c;
  }

  private rootCa(c: Cluster): RootCa {
    return { certPem: c.rootCa!.caCertPem, keyPem: c.rootCa!.caKeyPem, digest: c.rootCa!.caDigest };
  }

  rootCaCertificate(): string {
    return this.cluster().rootCa!.caCertPem;
  }

  /** roleOfToken maps a join token to the role it admits; PermissionDenied when it admits none. */
  roleOfToken(token: string): NodeRoleName {
    parseJoinToken(token); // malformed → InvalidArgument, before any comparison
    const tokens = this.cluster().rootCa!.joinTokens;
    if (tokens?.manager && joinTokenMatches(token, tokens.manager)) return "manager";
    if (tokens?.worker && joinTokenMatches(token, tokens.worker)) return "worker";
    throw new PermissionDeniedError("invalid join token: it was rotated, or it belongs to another swarm");
  }

  /** admit creates the Node object of a joining node and signs its certificate. */
  async admit(req: IssueNodeCertificateRequest): Promise<IssuedCertificate> {
    const role = this.roleOfToken(req.token);
    const c = this.cluster();
    const nodeId = newId();
    const host = hostOf(req.addr);
    const certPem = await this.sign(c, req.csrPem, nodeId, role, host);
    const t = this.now();
    const protoRole = role === "manager" ? NodeRole.MANAGER : NodeRole.WORKER;
    const node: Node = create(NodeSchema, {
      id: nodeId,
      meta: create(MetaSchema, { createdAtMs: t, updatedAtMs: t }),
      role: protoRole,
      spec: create(NodeSpecSchema, {
        desiredRole: protoRole,
        availability: req.availability ?? NodeAvailability.ACTIVE,
        annotations: create(AnnotationsSchema, {}),
      }),
      description: req.description,
      status: create(NodeStatusSchema, { state: NodeState.UNKNOWN, addr: host }),
      managerStatus: role === "manager" ? create(ManagerStatusSchema, { addr: req.addr }) : undefined,
    });
    await this.store.update((tx) => tx.create("node", node));
    return { nodeId, certPem, caCertPem: c.rootCa!.caCertPem, role: protoRole, clusterId: c.id };
  }

  /** renew re-issues an authenticated node's certificate with the role the cluster wants for it now. */
  async renew(caller: NodeIdentity, csrPem: string): Promise<IssuedCertificate> {
    const c = this.cluster();
    const node = this.store.view((tx) => tx.get("node", caller.nodeId));
    if (!node) throw new PermissionDeniedError(`node ${caller.nodeId} is not part of this swarm (it was removed)`);
    const role: NodeRoleName = node.spec?.desiredRole === NodeRole.MANAGER ? "manager" : "worker";
    const host = node.managerStatus?.addr ? hostOf(node.managerStatus.addr) : (node.status?.addr ?? "");
    const certPem = await this.sign(c, csrPem, node.id, role, host);
    return { nodeId: node.id, certPem, caCertPem: c.rootCa!.caCertPem, role: role === "manager" ? NodeRole.MANAGER : NodeRole.WORKER, clusterId: c.id };
  }

  private sign(c: Cluster, csrPem: string, nodeId: string, role: NodeRoleName, host: string): Promise<string> {
    // Managers also serve etcd clients on loopback, so their certificate names 127.0.0.1 too.
    const ips = [host, ...(role === "manager" ? ["127.0.0.1"] : [])].filter((ip) => /^[\d.]+$|:/.test(ip));
    const validityMs = Number(c.spec?.nodeCertExpiryMs || defaultNodeCertExpiryMs);
    return issueNodeCertificate(this.rootCa(c), { csrPem, nodeId, role, clusterId: c.id, ips, validityMs });
  }
}
