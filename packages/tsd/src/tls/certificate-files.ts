/**
 * The node's TLS identity on disk: the cluster CA certificate, the node certificate and its key,
 * under <data-root>/swarm/certificates. Each file is written to a temp name and renamed, and the
 * key last-but-one, so a crash mid-renewal leaves a matching old or new pair, never a mix.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface NodeCertificates {
  caCertPem: string;
  certPem: string;
  keyPem: string;
}

export function certificatesDir(dataRoot: string): string {
  return join(dataRoot, "swarm", "certificates");
}

const files = { caCertPem: "swarm-root-ca.crt", certPem: "swarm-node.crt", keyPem: "swarm-node.key" } as const;

/** certificatePaths are what etcd is pointed at (it reads files, not memory). */
export function certificatePaths(dataRoot: string): { caFile: string; certFile: string; keyFile: string } {
  const dir = certificatesDir(dataRoot);
  return { caFile: join(dir, files.caCertPem), certFile: join(dir, files.certPem), keyFile: join(dir, files.keyPem) };
}

export async function loadCertificates(dataRoot: string): Promise<NodeCertificates | undefined> {
  const p = certificatePaths(dataRoot);
  try {
    const [caCertPem, certPem, keyPem] = await Promise.all([readFile(p.caFile, "utf8"), readFile(p.certFile, "utf8"), readFile(p.keyFile, "utf8")]);
    return { caCertPem, certPem, keyPem };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * saveCertificates writes all three files. A renewal writes the new key under a temp name first and
 * renames the certificate and the key back to back; readers that catch the gap retry on failure.
 */
export async function saveCertificates(dataRoot: string, c: NodeCertificates): Promise<void> {
  const dir = certificatesDir(dataRoot);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const p = certificatePaths(dataRoot);
  const staged: [string, string, string][] = [
    [p.caFile, c.caCertPem, `${p.caFile}.tmp`],
    [p.keyFile, c.keyPem, `${p.keyFile}.tmp`],
    [p.certFile, c.certPem, `${p.certFile}.tmp`],
  ];
  for (const [, content, tmp] of staged) await writeFile(tmp, content, { mode: 0o600, flush: true });
  for (const [path, , tmp] of staged) await rename(tmp, path);
}
