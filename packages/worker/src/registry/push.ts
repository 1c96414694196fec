/**
 * The push side of the distribution API (OCI distribution spec, "Pushing blobs" and "Pushing
 * manifests"), and the credential check `login` makes. For each blob: HEAD tells whether the
 * repository has it; if not, a repository of the same registry that has it lends it by a
 * cross-repository mount; otherwise a monolithic upload (POST to open a session, PUT with
 * ?digest=). Then the manifest is PUT under the tag. Every request is authenticated through the
 * same challenge flow as pulls, with push scope.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnavailableError,
} from "@tsctl/api";
import { Authorizer } from "./auth.js";
import { Limiter } from "./limit.js";
import type { PushBlob, PushLayer, PushManifest } from "./push-manifest.js";
import { toRemote, type RemoteRef } from "./repository.js";
import { authorizedSend, transportError } from "./authorized.js";
import { readBody, registryUrl, type HostTrust } from "./transport.js";
import type { RegistryOptions } from "./types.js";

/** PushImage is what a push sends: the image's blobs, its manifest, and where blobs may be mounted from. */
export interface PushImage {
  config: PushBlob;
  layers: PushLayer[];
  manifest: PushManifest;
  /** Repositories on the target registry that may hold the blobs already (see mountCandidates). */
  mountFrom: string[];
}

/** PushProgress reports one layer of a push, in Docker's vocabulary. */
export interface PushProgress {
  /** 12 hex of the layer's diff_id. */
  id: string;
  action: "preparing" | "pushing" | "pushed" | "exists" | "mounted";
  current: number;
  total: number;
  /** The repository a mounted layer came from. */
  from?: string;
}

export interface PushResult {
  /** The tag pushed ("1.0"). */
  tag: string;
  /** sha256 of the manifest bytes, as the registry now serves them. */
  digest: string;
  size: number;
}

export interface RegistryPusher {
  /** Pushes image as ref (a tag). Errors: PermissionDenied, NotFound, Unavailable, FailedPrecondition with the registry's word. */
  push(ref: string, image: PushImage, onProgress?: (p: PushProgress) => void, signal?: AbortSignal): Promise<PushResult>;
  /** Checks the credentials for server (host[:port] or URL) with GET /v2/. PermissionDenied when refused. */
  login(server: string, signal?: AbortSignal): Promise<void>;
}

/** createRegistryPusher returns a pusher holding only caches (tokens, challenges). */
export function createRegistryPusher(opts: RegistryOptions): RegistryPusher {
  return new HttpPusher(opts);
}

type Method = "GET" | "HEAD" | "POST" | "PUT";
type Body = Uint8Array | (() => Readable);

class HttpPusher implements RegistryPusher {
  private readonly trust: HostTrust;
  private readonly auth: Authorizer;
  private readonly uploads: Limiter;

  constructor(opts: RegistryOptions) {
    this.trust = { insecure: opts.insecure ?? (() => false), ca: opts.ca ?? (() => undefined) };
    this.auth = new Authorizer(this.trust, opts.credentials ?? (() => undefined));
    this.uploads = new Limiter(Math.max(1, opts.concurrency ?? 3));
  }

  async push(ref: string, image: PushImage, onProgress?: (p: PushProgress) => void, signal?: AbortSignal): Promise<PushResult> {
    const r = toRemote(ref);
    if (r.tag === undefined) throw new InvalidArgumentError(`cannot push ${r.display}: push a tag, not a digest`);
    const progress = onProgress ?? (() => undefined);
    const seen = new Set<string>();
    const layers = image.layers.filter((l) => !seen.has(l.digest) && seen.add(l.digest));
    for (const l of layers) progress({ id: l.id, action: "preparing", current: 0, total: l.size });
    const cancel = new AbortController();
    const sig = signal === undefined ? cancel.signal : AbortSignal.any([signal, cancel.signal]);
    const results = await Promise.allSettled([
      ...layers.map((l) =>
        this.uploads.run(async () => {
          try {
            const how = await this.pushBlob(r, l, image.mountFrom, (action) => progress({ id: l.id, action, current: 0, total: l.size }), sig);
            if (how.action === "mounted") progress({ id: l.id, action: "mounted", current: l.size, total: l.size, from: how.from });
            else progress({ id: l.id, action: how.action, current: l.size, total: l.size });
          } catch (err) {
            cancel.abort();
            throw err;
          }
        }),
      ),
      // The config goes last among blobs only in spirit: registries check references at manifest PUT.
      this.uploads.run(() => this.pushBlob(r, image.config, image.mountFrom, () => undefined, sig)),
    ]);
    const failures = results.filter((x): x is PromiseRejectedResult => x.status === "rejected").map((x) => x.reason as unknown);
    if (failures.length > 0) throw failures.find((e) => !(e instanceof Error && e.name === "AbortError")) ?? failures[0];

    const digest = `sha256:${createHash("sha256").update(image.manifest.bytes).digest("hex")}`;
    const res = await this.call(r, "PUT", `/v2/${r.repository}/manifests/${r.tag}`, pushScope(r), signal, {
      headers: { "content-type": image.manifest.mediaType, "content-length": String(image.manifest.bytes.length) },
      body: image.manifest.bytes,
    });
    if (res.statusCode !== 201 && res.statusCode !== 200) throw await pushError(r, res, "manifest");
    res.resume();
    const served = res.headers["docker-content-digest"];
    if (typeof served === "string" && served !== "" && served !== digest) {
      throw new FailedPreconditionError(`error pushing ${r.display}: the registry stored the manifest as ${served}, not ${digest}`);
    }
    return { tag: r.tag, digest, size: image.manifest.bytes.length };
  }

  async login(server: string, signal?: AbortSignal): Promise<void> {
    const r = toRemote(`${loginHost(server)}/login-check`);
    const res = await this.call(r, "GET", "/v2/", "", signal);
    res.resume();
    if (res.statusCode === 200) return;
    if (res.statusCode === 401 || res.statusCode === 403) throw new PermissionDeniedError("unauthorized: incorrect username or password");
    throw new UnavailableError(`login to ${r.host}: received unexpected HTTP status: ${res.statusCode ?? 0} ${res.statusMessage ?? ""}`.trimEnd());
  }

  /** pushBlob makes sure the repository has blob; it tells how. */
  private async pushBlob(
    r: RemoteRef,
    blob: PushBlob,
    mountFrom: readonly string[],
    onStart: (action: "pushing") => void,
    signal: AbortSignal,
  ): Promise<{ action: "exists" | "pushed" } | { action: "mounted"; from: string }> {
    if (await this.hasBlob(r, r.repository, blob.digest, pushScope(r), signal)) return { action: "exists" };
    for (const from of mountFrom) {
      const scope = `${pushScope(r)} repository:${from}:pull`;
      if (!(await this.hasBlob(r, from, blob.digest, scope, signal))) continue;
      const q = new URLSearchParams({ mount: blob.digest, from });
      const res = await this.call(r, "POST", `/v2/${r.repository}/blobs/uploads/?${q}`, scope, signal, { headers: { "content-length": "0" } });
      res.resume();
      if (res.statusCode === 201) return { action: "mounted", from };
      // 202: the registry declined the mount and opened an upload session instead; use it.
      if (res.statusCode === 202) {
        onStart("pushing");
        await this.upload(r, blob, this.location(r, res), signal);
        return { action: "pushed" };
      }
      break;
    }
    onStart("pushing");
    const res = await this.call(r, "POST", `/v2/${r.repository}/blobs/uploads/`, pushScope(r), signal, { headers: { "content-length": "0" } });
    if (res.statusCode !== 202) throw await pushError(r, res, "blob", blob.digest);
    res.resume();
    await this.upload(r, blob, this.location(r, res), signal);
    return { action: "pushed" };
  }

  /** upload completes an upload session with the whole blob in one PUT (monolithic). */
  private async upload(r: RemoteRef, blob: PushBlob, session: URL, signal: AbortSignal): Promise<void> {
    session.searchParams.set("digest", blob.digest);
    const res = await this.call(r, "PUT", session, pushScope(r), signal, {
      headers: { "content-type": "application/octet-stream", "content-length": String(blob.size) },
      body: () => createReadStream(blob.path),
    });
    if (res.statusCode !== 201) throw await pushError(r, res, "blob", blob.digest);
    res.resume();
  }

  private async hasBlob(r: RemoteRef, repository: string, digest: string, scope: string, signal: AbortSignal): Promise<boolean> {
    const res = await this.call(r, "HEAD", `/v2/${repository}/blobs/${digest}`, scope, signal);
    res.resume();
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    // Not allowed to read a mount source is as good as not there; for the target it is an error.
    if (repository !== r.repository && (res.statusCode === 401 || res.statusCode === 403)) return false;
    throw await pushError(r, res, "blob", digest);
  }

  /** location resolves an upload session's Location header (often relative) against the registry's URL. */
  private location(r: RemoteRef, res: IncomingMessage): URL {
    const loc = res.headers.location;
    if (loc === undefined || loc === "") throw new UnavailableError(`error pushing ${r.display}: the registry opened an upload without a Location`);
    return new URL(loc, registryUrl(this.trust, r.endpoint, "/"));
  }

  /** call makes one API request with the given scope's credentials (see authorizedSend). */
  private call(
    r: RemoteRef,
    method: Method,
    path: string | URL,
    scope: string,
    signal?: AbortSignal,
    extra: { headers?: Record<string, string>; body?: Body } = {},
  ): Promise<IncomingMessage> {
    const url = typeof path === "string" ? registryUrl(this.trust, r.endpoint, path) : path;
    const caller = { trust: this.trust, auth: this.auth, action: "pushing" as const, nameDenials: false };
    return authorizedSend(caller, r, url, scope, { method, headers: extra.headers ?? {}, ...(extra.body !== undefined ? { body: extra.body } : {}), signal });
  }

}

/** pushScope is the token scope a push needs on its repository. */
function pushScope(r: RemoteRef): string {
  return `repository:${r.repository}:pull,push`;
}

/** loginHost turns what `login` was given ("host:5000", "https://host:5000/v2/", "") into host[:port]. */
export function loginHost(server: string): string {
  const s = server.trim();
  if (s === "" || /^(https?:\/\/)?(index\.)?docker\.io(\/.*)?$/.test(s) || s === "registry-1.docker.io") return "docker.io";
  return s.replace(/^[a-z]+:\/\//, "").replace(/\/.*$/, "");
}


/** pushError reads a registry error response ({"errors":[{code,message}]}) into one line. */
async function pushError(r: RemoteRef, res: IncomingMessage, kind: "manifest" | "blob", digest?: string): Promise<Error> {
  const status = res.statusCode ?? 0;
  let detail: { code?: string; message?: string } | undefined;
  try {
    const body = await readBody(res, 64 << 10, "error response");
    detail = (JSON.parse(body.toString("utf8")) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
  } catch {
    // Not a registry error document: the status says enough.
  }
  const what = kind === "blob" ? `blob ${digest ?? ""}` : "manifest";
  switch (status) {
    case 401:
      return new PermissionDeniedError(`unauthorized: authentication required to push ${r.display}`);
    case 403:
      return new PermissionDeniedError(`denied: ${detail?.message ?? "requested access to the resource is denied"} for ${r.display}`);
    case 404:
      return new NotFoundError(`error pushing ${r.display}: ${detail?.message ?? "repository name not known to registry"}`);
  }
  const word = detail?.code !== undefined ? `${detail.code.toLowerCase()}: ${detail.message ?? ""}` : `received unexpected HTTP status: ${status} ${res.statusMessage ?? ""}`;
  const line = `error pushing ${what} of ${r.display}: ${word}`.trimEnd();
  return status >= 500 || status === 429 ? new UnavailableError(line) : new FailedPreconditionError(line);
}
