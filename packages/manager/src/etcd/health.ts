import { readFileSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { checkServerIdentity, type PeerCertificate } from "node:tls";

/** EtcdTls names the PEM files of a member's certificate, its key and the cluster CA. */
export interface EtcdTls {
  certFile: string;
  keyFile: string;
  caFile: string;
  /**
   * Name the member's server certificate is checked against instead of the endpoint's address
   * (e.g. "tsctl-manager"); unset, the certificate must carry the endpoint's IP as a SAN.
   */
  serverName?: string;
}

/**
 * getHealth asks a member's /health (over https with the client certificate when tls is given,
 * since a member started with --client-cert-auth refuses anything else) and returns its body.
 */
export function getHealth(endpoint: string, tls: EtcdTls | undefined, timeoutMs = 1000): Promise<{ status: number; body: string }> {
  const url = new URL("/health", endpoint);
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    };
    const req =
      url.protocol === "https:"
        ? httpsRequest(url, { ...tlsOptions(tls), agent: false, timeout: timeoutMs }, onResponse)
        : httpRequest(url, { agent: false, timeout: timeoutMs }, onResponse);
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url.href} within ${timeoutMs}ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** isHealthy reports whether a /health answer says the member has a leader and no alarm. */
export function isHealthy(res: { status: number; body: string }): boolean {
  try {
    return res.status === 200 && (JSON.parse(res.body) as { health?: string }).health === "true";
  } catch {
    return false;
  }
}

/** TlsClientOptions are the node:tls options a client of a member needs. */
export interface TlsClientOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
}

/** tlsOptions reads the files into node:tls options (on every call, so renewed certificates count). */
export function tlsOptions(tls: EtcdTls | undefined): TlsClientOptions {
  if (tls === undefined) return {};
  const files = { ca: readFileSync(tls.caFile), cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) };
  const name = tls.serverName;
  // No SNI for an address: node warns that an IP as TLS server name is against RFC 6066.
  if (name === undefined) return { ...files, servername: "" };
  // Check the certificate against the configured name, not the 127.0.0.1 we dial.
  return { ...files, servername: name, checkServerIdentity: (_host, cert) => checkServerIdentity(name, cert) };
}
