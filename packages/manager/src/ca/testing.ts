import { createCsr } from "./csr.js";
import { issueNodeCertificate } from "./issue.js";
import { ecSigningAlgorithm, exportPrivateKeyPem, generateKeyPair } from "./keys.js";
import type { NodeRoleName } from "./names.js";
import type { RootCa } from "./root-ca.js";
import { x509 } from "./x509.js";

const hour = 3600 * 1000;

/** issueTestNode makes a key and a certificate for a node, as a node joining the cluster would get them. */
export async function issueTestNode(
  ca: RootCa,
  opts: { nodeId: string; role: NodeRoleName; clusterId: string; ips?: string[]; validityMs?: number; now?: number },
): Promise<{ keyPem: string; certPem: string }> {
  const { keyPem, csrPem } = await createCsr();
  const certPem = await issueNodeCertificate(ca, {
    csrPem,
    nodeId: opts.nodeId,
    role: opts.role,
    clusterId: opts.clusterId,
    ips: opts.ips ?? [],
    validityMs: opts.validityMs ?? hour,
    ...(opts.now === undefined ? {} : { now: opts.now }),
  });
  return { keyPem, certPem };
}

/** selfSignedCertificate makes a certificate outside any tsctl CA, with whatever subject a test needs. */
export async function selfSignedCertificate(name: x509.JsonName): Promise<{ keyPem: string; certPem: string }> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    notBefore: new Date(Date.now() - hour),
    notAfter: new Date(Date.now() + hour),
    signingAlgorithm: ecSigningAlgorithm,
    keys,
  });
  return { keyPem: await exportPrivateKeyPem(keys.privateKey), certPem: cert.toString("pem") + "\n" };
}

/** csrWithSubject makes a signing request that asks for a subject and SANs of its own choosing. */
export async function csrWithSubject(name: x509.JsonName, dnsSans: string[]): Promise<string> {
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys,
    signingAlgorithm: ecSigningAlgorithm,
    extensions: [new x509.SubjectAlternativeNameExtension(dnsSans.map((value) => ({ type: "dns", value })))],
  });
  return csr.toString("pem");
}

/** pemToDer returns the bytes inside a PEM block. */
export function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""), "base64");
}

/** derToPem wraps DER bytes as a PEM block with the given label. */
export function derToPem(der: Buffer, label: string): string {
  return `-----BEGIN ${label}-----\n${der.toString("base64")}\n-----END ${label}-----\n`;
}
