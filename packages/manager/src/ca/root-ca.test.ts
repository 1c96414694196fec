import { execFileSync } from "node:child_process";
import { X509Certificate, createHash, createPrivateKey, createPublicKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import { caDigest, createRootCa } from "./root-ca.js";

const year = 365 * 24 * 3600 * 1000;

describe("createRootCa", () => {
  it("makes a self-signed P-256 CA named after the cluster, valid for 20 years by default", async () => {
    const now = Date.UTC(2030, 0, 1);
    const ca = await createRootCa({ clusterId: "cluster-a", now });
    const cert = new X509Certificate(ca.certPem);

    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe("CN=tsctl cluster CA\nO=cluster-a");
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: "prime256v1" });
    // The key is PKCS#8 and belongs to the certificate.
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(cert.checkPrivateKey(createPrivateKey(ca.keyPem))).toBe(true);
    expect(new Date(cert.validTo).getTime()).toBe(now + 20 * year);
    expect(new Date(cert.validFrom).getTime()).toBe(now - 5 * 60 * 1000);
  });

  it("marks the certificate CA:true (critical) with keyCertSign and cRLSign only", async () => {
    const ca = await createRootCa({ clusterId: "c", validityMs: year });
    const text = execFileSync("openssl", ["x509", "-noout", "-text"], { input: ca.certPem, encoding: "utf8" });
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
  });

  it("makes a new key each time", async () => {
    const [a, b] = await Promise.all([createRootCa({ clusterId: "c" }), createRootCa({ clusterId: "c" })]);
    const pub = (pem: string) => createPublicKey(pem).export({ type: "spki", format: "der" }).toString("hex");
    expect(pub(a.certPem)).not.toBe(pub(b.certPem));
    expect(a.digest).not.toBe(b.digest);
  });
});

describe("caDigest", () => {
  it("is the SHA-256 of the certificate's DER in base36, 50 characters, and stable", async () => {
    const ca = await createRootCa({ clusterId: "c" });
    const digest = caDigest(ca.certPem);
    expect(digest).toMatch(/^[0-9a-z]{50}$/);
    expect(digest).toBe(ca.digest);
    expect(caDigest(ca.certPem)).toBe(digest);
    // The same certificate with other PEM line breaks has the same digest: it is over the DER.
    const oneLine = ca.certPem.replace(/\n(?!-----)/g, "").replace("-----BEGIN CERTIFICATE-----", "$&\n");
    expect(caDigest(oneLine)).toBe(digest);

    const sha = createHash("sha256").update(new X509Certificate(ca.certPem).raw).digest("hex");
    expect(BigInt(`0x${sha}`)).toBe([...digest].reduce((n, c) => n * 36n + BigInt(parseInt(c, 36)), 0n));
  });
});
