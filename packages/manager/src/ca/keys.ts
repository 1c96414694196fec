import { createPrivateKey, webcrypto } from "node:crypto";

/**
 * keys holds the one key algorithm of the cluster PKI (ECDSA P-256 with SHA-256) and the moves
 * between WebCrypto keys, which @peculiar/x509 signs with, and PKCS#8 PEM, which is what gets
 * stored and handed to node:tls.
 */
export const ecKeyAlgorithm = { name: "ECDSA", namedCurve: "P-256" } as const;
export const ecSigningAlgorithm = { name: "ECDSA", hash: "SHA-256" } as const;

/** generateKeyPair makes a new extractable P-256 key pair (extractable so it can be stored). */
export async function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ecKeyAlgorithm, true, ["sign", "verify"]);
}

/** exportPrivateKeyPem encodes a private key as PKCS#8 PEM. */
export async function exportPrivateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key));
  return pem("PRIVATE KEY", der);
}

/** importSigningKey reads a PKCS#8 PEM P-256 key as a non-extractable WebCrypto signing key. */
export async function importSigningKey(keyPem: string): Promise<webcrypto.CryptoKey> {
  // node:crypto parses the PEM (and says clearly when it is not a key); WebCrypto then imports DER.
  const der = createPrivateKey(keyPem).export({ type: "pkcs8", format: "der" });
  return webcrypto.subtle.importKey("pkcs8", der, ecKeyAlgorithm, false, ["sign"]);
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
