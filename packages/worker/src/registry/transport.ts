/**
 * HTTP(S) to registries with node:http/node:https, so every host gets its own trust: plain HTTP
 * only for hosts listed insecure, and extra CA certificates added to (not replacing) the system
 * roots. Redirects are followed (blob downloads are often redirected to storage), dropping the
 * Authorization header when one leaves the registry's origin. No connection is kept alive.
 */
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { rootCertificates } from "node:tls";

/** HostTrust tells the transport how to reach a host (host:port). */
export interface HostTrust {
  insecure: (host: string) => boolean;
  ca: (host: string) => string | undefined;
}

export interface SendOptions {
  method: "GET" | "HEAD" | "POST" | "PUT";
  headers?: Record<string, string>;
  /** Request body (pushes): bytes, or a function opening a stream (called again after a redirect). */
  body?: Uint8Array | (() => Readable);
  signal?: AbortSignal | undefined;
  /** Socket idle timeout (default 60 s): a stalled transfer fails instead of hanging. */
  idleMs?: number;
}

const MAX_REDIRECTS = 5;

/** registryUrl is the base URL of a registry host: http only when the host is insecure. */
export function registryUrl(trust: HostTrust, host: string, path: string): URL {
  return new URL(`${trust.insecure(host) ? "http" : "https"}://${host}${path}`);
}

/** send makes a request and resolves with the response once headers arrive (redirects followed). */
export async function send(trust: HostTrust, url: URL, opts: SendOptions): Promise<IncomingMessage> {
  let current = url;
  const headers = { "user-agent": "tsctl/0.1", ...opts.headers };
  for (let hop = 0; ; hop++) {
    const res = await once(trust, current, opts, headers);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (![301, 302, 303, 307, 308].includes(status) || location === undefined || hop >= MAX_REDIRECTS) return res;
    res.resume();
    const next = new URL(location, current);
    if (next.origin !== current.origin) delete (headers as Record<string, string>).authorization;
    current = next;
  }
}

function once(trust: HostTrust, url: URL, opts: SendOptions, headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const common = { method: opts.method, headers, agent: false as const, signal: opts.signal };
    let req: http.ClientRequest;
    if (url.protocol === "https:") {
      const extra = trust.ca(url.host);
      req = https.request(url, { ...common, ...(extra !== undefined ? { ca: [...rootCertificates, extra] } : {}) }, resolve);
    } else {
      req = http.request(url, common, resolve);
    }
    req.setTimeout(opts.idleMs ?? 60_000, () => req.destroy(new Error(`timeout talking to ${url.host}`)));
    req.on("error", reject);
    const body = opts.body;
    if (body === undefined) req.end();
    else if (body instanceof Uint8Array) req.end(body);
    else pipeline(body(), req).catch((err: unknown) => req.destroy(err as Error));
  });
}

/** readBody collects a response body, refusing more than limit bytes. */
export async function readBody(res: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res) {
    n += (chunk as Buffer).length;
    if (n > limit) {
      res.destroy();
      throw new Error(`${what} is larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
