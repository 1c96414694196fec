/**
 * NodeCertificateProvider feeds grpc-js the node's CA and identity certificates, and pushes a new
 * identity to every server and channel using it when the certificate is renewed: no listener or
 * connection has to be rebuilt.
 */
import type { grpc } from "@tsctl/api";
import type { NodeCertificates } from "./certificate-files.js";

type CertificateProvider = grpc.experimental.CertificateProvider;
type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

export class NodeCertificateProvider implements CertificateProvider {
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();

  constructor(private current: NodeCertificates) {}

  get certificates(): NodeCertificates {
    return this.current;
  }

  /** update swaps in a renewed certificate (same CA) for every user of this provider. */
  update(next: NodeCertificates): void {
    this.current = next;
    for (const l of this.caListeners) l(this.caUpdate());
    for (const l of this.identityListeners) l(this.identityUpdate());
  }

  private caUpdate() {
    return { caCertificate: Buffer.from(this.current.caCertPem) };
  }

  private identityUpdate() {
    // The chain carries the CA too, so a peer that pinned only the digest can see the issuer.
    return { certificate: Buffer.from(this.current.certPem + "\n" + this.current.caCertPem), privateKey: Buffer.from(this.current.keyPem) };
  }

  // grpc-js registers its watcher only after adding the listener, so the first update must come
  // later (as it does from its own file-reading provider) or the server never gets a context.
  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    setImmediate(() => this.caListeners.has(listener) && listener(this.caUpdate()));
  }
  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    setImmediate(() => this.identityListeners.has(listener) && listener(this.identityUpdate()));
  }
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }
}
