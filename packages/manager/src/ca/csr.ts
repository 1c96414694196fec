import { ecSigningAlgorithm, exportPrivateKeyPem, generateKeyPair } from "./keys.js";
import { x509 } from "./x509.js";

/**
 * createCsr makes a new ECDSA P-256 key (PKCS#8 PEM) and a certificate signing request (PEM)
 * signed by it. The subject is a placeholder: the CA decides the subject of the certificate, so
 * nothing a node writes into its request can grant it an identity or a role.
 */
export async function createCsr(): Promise<{ keyPem: string; csrPem: string }> {
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: ["tsctl-node"] }],
    keys,
    signingAlgorithm: ecSigningAlgorithm,
  });
  return { keyPem: await exportPrivateKeyPem(keys.privateKey), csrPem: csr.toString("pem") + "\n" };
}
