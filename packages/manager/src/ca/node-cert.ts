import { X509Certificate } from "node:crypto";
import { PermissionDeniedError } from "@tsctl/api";
import { roleForOu, type NodeRoleName } from "./names.js";
import { x509 } from "./x509.js";

/** NodeIdentity is what a node certificate says about its holder. */
export interface NodeIdentity {
  nodeId: string;
  role: NodeRoleName;
  clusterId: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * parseNodeCertificate reads the identity from a node certificate (PEM, or DER as TLS hands out
 * peer certificates). It does not check who signed it: TLS has done that, or isIssuedBy does.
 * Throws PermissionDeniedError "certificate is not a tsctl node certificate" when the OU is not
 * exactly one of the role OUs or the CN or O is missing (the cluster CA's own certificate has no OU).
 */
export function parseNodeCertificate(cert: string | Buffer): NodeIdentity {
  let parsed: x509.X509Certificate;
  try {
    // A copy, since a Buffer may be a view into Node's shared pool.
    parsed = new x509.X509Certificate(typeof cert === "string" ? cert : new Uint8Array(cert));
  } catch {
    throw notNodeCertificate();
  }
  const nodeId = single(parsed.subjectName.getField("CN"));
  const ou = single(parsed.subjectName.getField("OU"));
  const clusterId = single(parsed.subjectName.getField("O"));
  const role = ou === undefined ? undefined : roleForOu(ou);
  if (nodeId === undefined || clusterId === undefined || role === undefined) throw notNodeCertificate();
  return { nodeId, role, clusterId, notBefore: parsed.notBefore, notAfter: parsed.notAfter };
}

/** single returns the one non-empty value of a name field; absent, empty or repeated fields are no value. */
function single(values: string[]): string | undefined {
  return values.length === 1 && values[0] !== "" ? values[0] : undefined;
}

function notNodeCertificate(): PermissionDeniedError {
  return new PermissionDeniedError("certificate is not a tsctl node certificate");
}

/**
 * isIssuedBy is true when cert (PEM or DER) names the CA as its issuer and its signature verifies
 * with the CA's public key. A certificate that does not parse was not issued by anyone: false.
 */
export function isIssuedBy(cert: string | Buffer, caCertPem: string): boolean {
  const ca = new X509Certificate(caCertPem);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    return false;
  }
  return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
}

/**
 * certificateNeedsRenewal is true once less than half of the certificate's validity period is
 * left, or it has expired, at `now` (ms since the epoch, default Date.now()).
 */
export function certificateNeedsRenewal(certPem: string, now: number = Date.now()): boolean {
  const cert = new x509.X509Certificate(certPem);
  const from = cert.notBefore.getTime();
  const to = cert.notAfter.getTime();
  return to - now < (to - from) / 2;
}
