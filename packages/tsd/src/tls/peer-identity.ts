/**
 * PeerVerifier turns the certificate a TCP caller presented into a node identity, or refuses it.
 * The server accepts any client certificate at the TLS layer (joiners have none), so the chain,
 * dates and cluster are checked here; results are cached per certificate because an agent's
 * session and a manager's forwarded calls present the same one over and over.
 */
import { X509Certificate } from "node:crypto";
import { PermissionDeniedError, type CallContext } from "@tsctl/api";
import { isIssuedBy, parseNodeCertificate, type NodeIdentity, type NodeRoleName } from "@tsctl/manager";

export class PeerVerifier {
  private readonly cache = new Map<string, NodeIdentity>();

  constructor(
    private readonly caCertPem: () => string,
    private readonly clusterId: () => string,
    private readonly now: () => number = Date.now,
  ) {}

  /** identify returns the caller's identity; PermissionDenied without a valid cluster certificate. */
  identify(ctx: CallContext): NodeIdentity {
    const der = ctx.peerCertificate;
    if (!der) throw new PermissionDeniedError("permission denied: a node certificate of this swarm is required");
    const key = new X509Certificate(der).fingerprint256;
    let id = this.cache.get(key);
    if (!id) {
      if (!isIssuedBy(der, this.caCertPem())) throw new PermissionDeniedError("permission denied: the certificate was not issued by this swarm's CA");
      id = parseNodeCertificate(der);
      if (id.clusterId !== this.clusterId()) throw new PermissionDeniedError("permission denied: the certificate belongs to another swarm");
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(key, id);
    }
    const now = this.now();
    if (now < id.notBefore.getTime() || now > id.notAfter.getTime()) {
      throw new PermissionDeniedError(`permission denied: the certificate of node ${id.nodeId} has expired or is not yet valid`);
    }
    return id;
  }

  /** require identifies the caller and checks its role. */
  require(ctx: CallContext, role: NodeRoleName, what: string): NodeIdentity {
    const id = this.identify(ctx);
    if (role === "manager" && id.role !== "manager") {
      throw new PermissionDeniedError(`permission denied: ${what} needs a manager certificate; node ${id.nodeId} is a worker`);
    }
    return id;
  }
}
