import { createHash, X509Certificate } from "node:crypto";
import { InvalidArgumentError } from "@tsctl/api";
import { ecSigningAlgorithm, exportPrivateKeyPem, generateKeyPair } from "./keys.js";
import { caCommonName } from "./names.js";
import { randomSerial } from "./serial.js";
import { x509 } from "./x509.js";

/** RootCa is the cluster's certificate authority: its certificate, its key, and the digest of the certificate. */
export interface RootCa {
  certPem: string;
  /** PKCS#8 PEM. */
  keyPem: string;
  /** caDigest(certPem), as it sits in join tokens. */
  digest: string;
}

const year = 365 * 24 * 3600 * 1000;
/** clockSkewMs backdates notBefore so a node whose clock runs a little behind accepts a fresh certificate. */
export const clockSkewMs = 5 * 60 * 1000;

/**
 * createRootCa makes a new self-signed ECDSA P-256 CA: CN "tsctl cluster CA", O = clusterId,
 * basicConstraints CA:true (critical), keyUsage keyCertSign + cRLSign, valid for validityMs
 * (default 20 years) from now, notBefore backdated by the clock-skew allowance.
 */
export async function createRootCa(opts: { clusterId: string; validityMs?: number; now?: number }): Promise<RootCa> {
  if (opts.clusterId === "") throw new InvalidArgumentError("cluster id must not be empty");
  const validityMs = opts.validityMs ?? 20 * year;
  if (!(validityMs > 0)) throw new InvalidArgumentError("CA validity must be positive");
  const now = opts.now ?? Date.now();
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [caCommonName] }, { O: [opts.clusterId] }],
    notBefore: new Date(now - clockSkewMs),
    notAfter: new Date(now + validityMs),
    signingAlgorithm: ecSigningAlgorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString("pem") + "\n";
  return { certPem, keyPem: await exportPrivateKeyPem(keys.privateKey), digest: caDigest(certPem) };
}

/** caDigestLength is the length of a CA digest: a SHA-256 value needs at most 50 base36 digits. */
export const caDigestLength = 50;

/**
 * caDigest is the SHA-256 of the CA certificate's DER, in base36 (0-9a-z), left-padded with '0'
 * to 50 characters: the form it takes in join tokens. A joining node compares it with the digest
 * of the CA certificate a manager hands it, before trusting that CA.
 */
export function caDigest(certPem: string): string {
  const der = new X509Certificate(certPem).raw;
  const sum = createHash("sha256").update(der).digest("hex");
  return BigInt(`0x${sum}`).toString(36).padStart(caDigestLength, "0");
}
