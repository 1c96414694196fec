/** A running docker-registry owned by the test that started it. */
export interface TestRegistry {
  /** "127.0.0.1:PORT", or "<listenHost>:PORT" */
  host: string;
  /** The network namespace (/run/netns/...) the registry runs in, when started with one. */
  netns?: string;
  auth?: "basic" | "bearer";
  tls: boolean;
  /** The throwaway CA that signed the registry's certificate (tls only). */
  caPem?: string;
  username?: string;
  password?: string;
  /** Token requests the token server answered (bearer only). */
  tokenStats?: { requests: number };
  /** Mints a push+pull token for repo (bearer only). */
  adminToken?: (repo: string) => string;
  stop(): Promise<void>;
}

export const USERNAME: string;
export const PASSWORD: string;
export const MEDIA: { dockerManifest: string; dockerList: string; ociManifest: string; ociIndex: string };

export function freePort(): Promise<number>;
/**
 * Starts docker-registry on 127.0.0.1 and a free port. With netns (a name under /run/netns or a path)
 * it runs inside that network namespace on listenHost (default 127.0.0.1) and port (default a free
 * root-namespace port); then only seed() reaches it from here, request() and the push helpers reject.
 */
export function startRegistry(opts?: { auth?: "basic" | "bearer"; tls?: boolean; netns?: string; listenHost?: string; port?: number }): Promise<TestRegistry>;
export function request(
  reg: TestRegistry,
  method: string,
  path: string,
  opts?: { body?: Buffer; headers?: Record<string, string>; repo?: string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>;
/** Pushes .cache/busybox.tar (or archive) as ref ("repo:tag", no host). */
export function seed(reg: TestRegistry, opts: { ref: string; format?: "v2s2" | "oci"; archive?: string }): Promise<{ digest: string }>;
export function pushBlob(reg: TestRegistry, repo: string, bytes: Buffer): Promise<string>;
export function pushManifest(reg: TestRegistry, repo: string, reference: string, manifest: { mediaType: string }): Promise<string>;
export function pushVariant(
  reg: TestRegistry,
  repo: string,
  digest: string,
  patch: Record<string, unknown>,
  tag?: string,
): Promise<{ mediaType: string; digest: string; size: number; configDigest: string }>;
export interface TestPlatform {
  os: string;
  architecture: string;
  variant?: string;
}
export function seedIndex(
  reg: TestRegistry,
  opts: { ref: string; platforms: TestPlatform[]; format?: "v2s2" | "oci" },
): Promise<{ digest: string; manifests: { mediaType: string; digest: string; size: number; platform: TestPlatform; configDigest: string }[] }>;

export type Fault = "none" | "corrupt" | "cut-once" | "500";
export interface FaultProxy {
  host: string;
  /** "METHOD /path" of every request seen, plus " bytes=N-" for Range requests. */
  requests: string[];
  setFault(f: Fault): void;
  stop(): Promise<void>;
}
export function startFaultProxy(upstreamHost: string, fault?: Fault, opts?: { minBlobBytes?: number }): Promise<FaultProxy>;
