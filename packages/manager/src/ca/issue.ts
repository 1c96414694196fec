import { isIP } from "node:net";
import { InvalidArgumentError } from "@tsctl/api";
import { ecSigningAlgorithm, importSigningKey } from "./keys.js";
import { managerSanDns, ouForRole, type NodeRoleName } from "./names.js";
import { clockSkewMs, type RootCa } from "./root-ca.js";
import { randomSerial } from "./serial.js";
import { x509 } from "./x509.js";

/** IssueRequest is what the CA needs to sign a node certificate. */
export interface IssueRequest {
  csrPem: string;
  nodeId: string;
  role: NodeRoleName;
  clusterId: string;
  /** Addresses the node serves on, written as IP SANs. */
  ips: string[];
  validityMs: number;
  /** The clock, in ms since the epoch; Date.now() when absent. */
  now?: number;
}

/**
 * issueNodeCertificate signs a node certificate for the public key of a certificate signing
 * request, once the request's self-signature verifies (proof that the requester holds the key).
 * Everything else comes from the CA side, never from the request: subject CN = nodeId,
 * OU = tsctl-manager | tsctl-worker, O = clusterId; IP SANs for `ips` (deduplicated) and, for
 * managers, DNS tsctl-manager; EKU serverAuth + clientAuth; keyUsage digitalSignature +
 * keyEncipherment; CA:false; random positive serial; valid from five minutes ago (clock skew)
 * until now + validityMs. Returns the certificate PEM.
 *
 * A garbled request or one whose signature does not verify throws InvalidArgumentError
 * "invalid certificate signing request: …"; bad request fields throw InvalidArgumentError too.
 */
export async function issueNodeCertificate(ca: RootCa, req: IssueRequest): Promise<string> {
  if (req.nodeId === "") throw new InvalidArgumentError("node id must not be empty");
  if (req.clusterId === "") throw new InvalidArgumentError("cluster id must not be empty");
  if (req.role !== "manager" && req.role !== "worker") {
    throw new InvalidArgumentError(`invalid node role ${JSON.stringify(req.role)}`);
  }
  if (!(req.validityMs > 0)) throw new InvalidArgumentError("certificate validity must be positive");
  const ips = canonicalIps(req.ips);
  const csr = await verifiedCsr(req.csrPem);

  const caCert = new x509.X509Certificate(ca.certPem);
  const now = req.now ?? Date.now();
  const sans: { type: "ip" | "dns"; value: string }[] = ips.map((value) => ({ type: "ip", value }));
  if (req.role === "manager") sans.push({ type: "dns", value: managerSanDns });

  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
  ];
  // A SAN extension must name at least one thing; a worker without addresses gets none.
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans));

  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [req.nodeId] }, { OU: [ouForRole(req.role)] }, { O: [req.clusterId] }],
    issuer: caCert.subjectName,
    notBefore: new Date(now - clockSkewMs),
    notAfter: new Date(now + req.validityMs),
    signingAlgorithm: ecSigningAlgorithm,
    publicKey: csr.publicKey,
    signingKey: await importSigningKey(ca.keyPem),
    extensions,
  });
  return cert.toString("pem") + "\n";
}

const csrPemPattern = /^\s*-----BEGIN CERTIFICATE REQUEST-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE REQUEST-----\s*$/;

async function verifiedCsr(csrPem: string): Promise<x509.Pkcs10CertificateRequest> {
  // The library would also take hex or bare base64 and decode any string into bytes; a CSR comes as PEM.
  if (!csrPemPattern.test(csrPem)) throw new InvalidArgumentError("invalid certificate signing request: not a PEM CERTIFICATE REQUEST");
  let csr: x509.Pkcs10CertificateRequest;
  let valid: boolean;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
    valid = await csr.verify();
  } catch (err) {
    throw new InvalidArgumentError(`invalid certificate signing request: ${(err as Error).message}`);
  }
  if (!valid) throw new InvalidArgumentError("invalid certificate signing request: signature does not verify");
  return csr;
}

/** canonicalIps validates addresses and writes each once, in its canonical form (so "::1" and "0::1" are one SAN). */
function canonicalIps(ips: string[]): string[] {
  const seen = new Set<string>();
  for (const ip of ips) {
    const family = isIP(ip);
    if (family === 0) throw new InvalidArgumentError(`invalid IP address ${JSON.stringify(ip)}`);
    seen.add(family === 4 ? ip : canonicalIpv6(ip));
  }
  return [...seen];
}

function canonicalIpv6(ip: string): string {
  try {
    // The URL parser prints IPv6 in RFC 5952 form (also turning an embedded IPv4 tail into hex,
    // which the certificate library's IPv6 parser needs); it refuses zone ids, as SANs must.
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    throw new InvalidArgumentError(`invalid IP address ${JSON.stringify(ip)}`);
  }
}
