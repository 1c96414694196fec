// A real OCI distribution registry for tests and benches: Debian's docker-registry on a free
// loopback port with a generated config (filesystem storage in a temp dir; optional htpasswd basic
// auth, token auth with a tiny token server of our own, TLS with a throwaway CA), images pushed
// into it with skopeo, multi-platform indexes built with plain HTTP PUTs, and a fault proxy for the
// bad-input tests. Plain ESM so bench/*.mjs use it without a build. Everything started here is
// owned by the returned object and ended by its stop(). With `netns` the registry runs inside that
// network namespace (nsenter --net) on `listenHost`, e.g. a test-cluster host's underlay address:
// then only seed() works from here (it runs skopeo in the namespace too); request() and the
// helpers built on it cannot reach the registry from the root namespace.
import { execFile, spawn } from "node:child_process";
import { createHash, randomBytes, sign, X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const REGISTRY_BIN = "/usr/bin/docker-registry";
const BUSYBOX_TAR = fileURLToPath(new URL("../../.cache/busybox.tar", import.meta.url));
const ISSUER = "tsctl-test-token-issuer";
const SERVICE = "tsctl-test-registry";
export const USERNAME = "tsctl";
export const PASSWORD = "s3cret-pass";

export const MEDIA = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
};
const ACCEPT = Object.values(MEDIA).join(", ");

/** sha256 returns the OCI digest of bytes. */
function sha256(bytes) {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** freePort asks the kernel for a free loopback port (closed again before the caller binds it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function openssl(args, cwd) {
  await run("openssl", args, { cwd });
}

/** makeTls creates a throwaway CA and a server certificate for 127.0.0.1 (and listenHost) signed by it. */
async function makeTls(dir, listenHost) {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=tsctl test registry CA"], dir);
  await openssl(["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"], dir);
  await writeFile(join(dir, "server.ext"), `subjectAltName=IP:127.0.0.1,DNS:localhost${listenHost !== "127.0.0.1" ? `,IP:${listenHost}` : ""}\nextendedKeyUsage=serverAuth\n`);
  await openssl(
    ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "server.ext"],
    dir,
  );
  return { caPem: await readFile(join(dir, "ca.crt"), "utf8"), cert: join(dir, "server.crt"), key: join(dir, "server.key") };
}

function b64url(data) {
  return Buffer.from(data).toString("base64url");
}

/** mintToken signs a registry JWT (ES256, x5c = the signing cert the registry trusts) granting access. */
function mintToken(signer, subject, access) {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: "JWT", alg: "ES256", x5c: [signer.certDer] };
  const claims = { iss: ISSUER, sub: subject, aud: SERVICE, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString("hex"), access };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = sign("sha256", Buffer.from(input), { key: signer.keyPem, dsaEncoding: "ieee-p1363" });
  return `${input}.${b64url(sig)}`;
}

/** parseScopes turns "repository:a/b:pull,push" scope strings into JWT access entries. */
function parseScopes(scopes) {
  const out = [];
  for (const s of scopes) {
    const first = s.indexOf(":");
    const last = s.lastIndexOf(":");
    if (first < 0 || last <= first) continue;
    out.push({ type: s.slice(0, first), name: s.slice(first + 1, last), actions: s.slice(last + 1).split(",").filter(Boolean) });
  }
  return out;
}

function basicUser(req) {
  const h = req.headers.authorization ?? "";
  if (!h.startsWith("Basic ")) return undefined;
  const [user, ...rest] = Buffer.from(h.slice(6), "base64").toString("utf8").split(":");
  return { user, pass: rest.join(":") };
}

/**
 * startTokenServer serves GET /token the way Docker's token spec describes: good credentials get
 * the requested scopes, no credentials get a token without access (so the registry answers 401),
 * wrong credentials get 401.
 */
async function startTokenServer(signer) {
  const stats = { requests: 0 };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname !== "/token") {
      res.writeHead(404).end();
      return;
    }
    stats.requests++;
    const creds = basicUser(req);
    if (creds !== undefined && (creds.user !== USERNAME || creds.pass !== PASSWORD)) {
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ details: "incorrect username or password" }));
      return;
    }
    const access = creds === undefined ? [] : parseScopes(url.searchParams.getAll("scope"));
    const token = mintToken(signer, creds?.user ?? "", access);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return { realm: `http://127.0.0.1:${port}/token`, stats, stop: () => new Promise((r) => server.close(() => r())) };
}

/** netnsPath turns a namespace name ("tcab12cd-m1") or path into its /run/netns path. */
function netnsPath(netns) {
  return netns.startsWith("/") ? netns : `/run/netns/${netns}`;
}

/** inNetns prefixes a command with nsenter into reg's network namespace (unchanged without one). */
function inNetns(reg, cmd, args) {
  return reg.netns === undefined ? [cmd, args] : ["nsenter", [`--net=${reg.netns}`, "--", cmd, ...args]];
}

/**
 * startRegistry runs docker-registry on 127.0.0.1:<free port>, or on listenHost:port inside netns;
 * see registry.d.mts.
 */
export async function startRegistry(opts = {}) {
  const dir = await mkdtemp(join(tmpdir(), "tsctl-registry-"));
  let child;
  let tokenServer;
  const stopAll = async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    }
    await tokenServer?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const listenHost = opts.listenHost ?? "127.0.0.1";
    // Inside a fresh namespace a free root-namespace port is as good a choice as any.
    const port = opts.port ?? (await freePort());
    const config = {
      version: 0.1,
      log: { level: "error", accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: join(dir, "data") }, delete: { enabled: true } },
      http: { addr: `${listenHost}:${port}`, secret: randomBytes(16).toString("hex") },
      health: { storagedriver: { enabled: false } },
    };
    const result = { host: `${listenHost}:${port}`, auth: opts.auth, tls: opts.tls === true };
    if (opts.netns !== undefined) result.netns = netnsPath(opts.netns);
    if (opts.tls) {
      const tls = await makeTls(dir, listenHost);
      config.http.tls = { certificate: tls.cert, key: tls.key };
      result.caPem = tls.caPem;
    }
    if (opts.auth === "basic") {
      const { stdout } = await run("htpasswd", ["-Bbn", USERNAME, PASSWORD]);
      await writeFile(join(dir, "htpasswd"), stdout);
      config.auth = { htpasswd: { realm: "tsctl-test", path: join(dir, "htpasswd") } };
    } else if (opts.auth === "bearer") {
      const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
      await openssl(["req", "-x509", ...ec, "-keyout", "token.key", "-out", "token.crt", "-days", "2", "-subj", "/CN=tsctl test token signer"], dir);
      const certPem = await readFile(join(dir, "token.crt"), "utf8");
      const signer = { keyPem: await readFile(join(dir, "token.key"), "utf8"), certDer: new X509Certificate(certPem).raw.toString("base64") };
      tokenServer = await startTokenServer(signer);
      config.auth = { token: { realm: tokenServer.realm, service: SERVICE, issuer: ISSUER, rootcertbundle: join(dir, "token.crt") } };
      result.tokenStats = tokenServer.stats;
      result.adminToken = (repo) => mintToken(signer, USERNAME, [{ type: "repository", name: repo, actions: ["pull", "push"] }]);
    }
    if (opts.auth !== undefined) {
      result.username = USERNAME;
      result.password = PASSWORD;
    }
    await writeFile(join(dir, "config.yml"), JSON.stringify(config, null, 2));
    // Variables named REGISTRY_* override the config file; none of the caller's may leak in.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("REGISTRY_")));
    // nsenter execs the registry, so child.pid is the registry itself either way.
    const [cmd, args] = inNetns(result, REGISTRY_BIN, ["serve", join(dir, "config.yml")]);
    child = spawn(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    child.stderr.on("data", (d) => {
      log = (log + d.toString()).slice(-4000);
    });
    await waitReady(result, child, () => log);
    result.stop = stopAll;
    return result;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * waitReady polls GET /v2/ until the registry answers (any HTTP status); in a namespace, until its
 * port accepts a TCP connection there (the registry listens only once it serves).
 */
async function waitReady(reg, child, log) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`docker-registry exited: ${log()}`);
    try {
      if (reg.netns === undefined) await request(reg, "GET", "/v2/");
      else await probeInNetns(reg);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`docker-registry did not start: ${err.message}\n${log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** probeInNetns connects to reg.host from inside reg's namespace; rejects when nothing listens. */
async function probeInNetns(reg) {
  const [host, port] = reg.host.split(":");
  const script = `require("net").connect(${Number(port)}, ${JSON.stringify(host)}).on("connect", () => process.exit(0)).on("error", () => process.exit(1))`;
  await run(...inNetns(reg, process.execPath, ["-e", script]));
}

/**
 * request makes one HTTP request to the registry as its administrator (credentials or a minted
 * token for repo), trusting its CA; resolves to { status, headers, body: Buffer }.
 */
export function request(reg, method, path, { body, headers = {}, repo } = {}) {
  if (reg.netns !== undefined) return Promise.reject(new Error(`request: the registry at ${reg.host} runs in ${reg.netns}, out of reach from here`));
  const h = { ...headers };
  if (reg.auth === "basic") h.authorization = `Basic ${Buffer.from(`${reg.username}:${reg.password}`).toString("base64")}`;
  if (reg.auth === "bearer" && repo !== undefined) h.authorization = `Bearer ${reg.adminToken(repo)}`;
  if (body !== undefined) h["content-length"] = String(body.length);
  const [hostname, port] = reg.host.split(":");
  const mod = reg.tls ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request({ hostname, port: Number(port), method, path, headers: h, agent: false, ca: reg.caPem }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** splitRef splits "repo/name:tag" (no host) into repository and tag. */
function splitRef(ref) {
  const colon = ref.lastIndexOf(":");
  if (colon < 0 || colon < ref.lastIndexOf("/")) return { repo: ref, tag: "latest" };
  return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}

/** skopeoAuth returns skopeo's destination flags for a registry. */
async function skopeoFlags(reg, dir) {
  const policy = join(dir, "policy.json");
  await writeFile(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
  const flags = ["--policy", policy, "--dest-tls-verify=false"];
  if (reg.username !== undefined) flags.push("--dest-creds", `${reg.username}:${reg.password}`);
  return flags;
}

/** seed pushes .cache/busybox.tar to reg as ref ("repo:tag", no host) with skopeo; returns its manifest digest. */
export async function seed(reg, { ref, format = "v2s2", archive = BUSYBOX_TAR }) {
  const dir = await mkdtemp(join(tmpdir(), "tsctl-seed-"));
  try {
    const digestFile = join(dir, "digest");
    const flags = await skopeoFlags(reg, dir);
    const copy = ["copy", "--quiet", ...flags, "--format", format, "--digestfile", digestFile, `docker-archive:${archive}`, `docker://${reg.host}/${ref}`];
    await run(...inNetns(reg, "skopeo", copy), { env: { ...process.env, TMPDIR: dir } });
    return { digest: (await readFile(digestFile, "utf8")).trim() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function expectStatus(res, want, what) {
  if (!want.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${res.body.toString("utf8").slice(0, 300)}`);
  return res;
}

/** pushBlob uploads bytes monolithically (POST then PUT ?digest=). */
export async function pushBlob(reg, repo, bytes) {
  const digest = sha256(bytes);
  const start = await expectStatus(await request(reg, "POST", `/v2/${repo}/blobs/uploads/`, { repo, body: Buffer.alloc(0) }), [202], "start upload");
  const loc = new URL(start.headers.location, `http://${reg.host}`);
  loc.searchParams.set("digest", digest);
  await expectStatus(
    await request(reg, "PUT", `${loc.pathname}${loc.search}`, { repo, body: bytes, headers: { "content-type": "application/octet-stream" } }),
    [201],
    "finish upload",
  );
  return digest;
}

/** pushManifest PUTs a manifest or index under reference (tag or digest); returns its digest. */
export async function pushManifest(reg, repo, reference, manifest) {
  const bytes = Buffer.from(JSON.stringify(manifest));
  await expectStatus(
    await request(reg, "PUT", `/v2/${repo}/manifests/${reference}`, { repo, body: bytes, headers: { "content-type": manifest.mediaType } }),
    [201],
    `put manifest ${repo}:${reference}`,
  );
  return sha256(bytes);
}

/** getJson fetches a manifest or blob of repo as JSON. */
async function getJson(reg, path, repo) {
  const res = await expectStatus(await request(reg, "GET", path, { repo, headers: { accept: ACCEPT } }), [200], `GET ${path}`);
  return { value: JSON.parse(res.body.toString("utf8")), bytes: res.body };
}

/**
 * pushVariant pushes an image sharing the layers of repo@digest but with its config patched (e.g.
 * another platform, a label); tag is optional. Returns the new manifest's descriptor.
 */
export async function pushVariant(reg, repo, digest, patch, tag) {
  const { value: manifest } = await getJson(reg, `/v2/${repo}/manifests/${digest}`, repo);
  const { value: config } = await getJson(reg, `/v2/${repo}/blobs/${manifest.config.digest}`, repo);
  const configBytes = Buffer.from(JSON.stringify({ ...config, ...patch }));
  const configDigest = await pushBlob(reg, repo, configBytes);
  const next = { ...manifest, config: { ...manifest.config, digest: configDigest, size: configBytes.length } };
  const bytes = Buffer.from(JSON.stringify(next));
  const d = await pushManifest(reg, repo, tag ?? sha256(bytes), next);
  return { mediaType: next.mediaType, digest: d, size: bytes.length, configDigest };
}

/**
 * seedIndex pushes an image index / manifest list as ref whose entries are the busybox image with
 * its config's platform set to each of platforms (the layers stay the host's busybox).
 */
export async function seedIndex(reg, { ref, platforms, format = "v2s2" }) {
  const { repo, tag } = splitRef(ref);
  const base = await seed(reg, { ref: `${repo}:index-base-${randomBytes(4).toString("hex")}`, format });
  const manifests = [];
  for (const p of platforms) {
    const patch = { os: p.os, architecture: p.architecture };
    if (p.variant !== undefined) patch.variant = p.variant;
    const desc = await pushVariant(reg, repo, base.digest, patch);
    const platform = { architecture: p.architecture, os: p.os };
    if (p.variant !== undefined) platform.variant = p.variant;
    manifests.push({ mediaType: desc.mediaType, digest: desc.digest, size: desc.size, platform, configDigest: desc.configDigest });
  }
  const index = {
    schemaVersion: 2,
    mediaType: format === "oci" ? MEDIA.ociIndex : MEDIA.dockerList,
    manifests: manifests.map(({ configDigest: _, ...d }) => d),
  };
  const digest = await pushManifest(reg, repo, tag, index);
  return { digest, manifests };
}

/**
 * startFaultProxy forwards HTTP to a plain-HTTP upstream on loopback and injects fault into blob
 * responses larger than minBlobBytes: "corrupt" flips one byte, "cut-once" ends the first such
 * response half-way, "500" answers every request with 500, "none" passes everything.
 */
export async function startFaultProxy(upstreamHost, fault = "none", { minBlobBytes = 4096 } = {}) {
  const [uh, up] = upstreamHost.split(":");
  const state = { fault, cutDone: false };
  const requests = [];
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}${req.headers.range !== undefined ? ` ${req.headers.range}` : ""}`);
    if (state.fault === "500") {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "UNKNOWN", message: "injected failure" }] }));
      return;
    }
    const up_ = http.request({ hostname: uh, port: Number(up), method: req.method, path: req.url, headers: req.headers, agent: false }, (ur) => {
      const isBlob = req.method === "GET" && /\/blobs\/sha256:/.test(req.url ?? "") && (ur.statusCode === 200 || ur.statusCode === 206);
      const length = Number(ur.headers["content-length"] ?? 0);
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      if (!isBlob || length < minBlobBytes || state.fault === "none" || (state.fault === "cut-once" && state.cutDone)) {
        ur.pipe(res);
        return;
      }
      const half = Math.floor(length / 2);
      let seen = 0;
      if (state.fault === "cut-once") state.cutDone = true;
      ur.on("data", (chunk) => {
        if (state.fault === "corrupt" && seen <= half && half < seen + chunk.length) {
          chunk = Buffer.from(chunk);
          chunk[half - seen] ^= 0xff;
        }
        if (state.fault === "cut-once" && seen + chunk.length >= half) {
          res.write(chunk.subarray(0, half - seen));
          ur.destroy();
          res.socket?.destroy();
          return;
        }
        seen += chunk.length;
        res.write(chunk);
      });
      ur.on("end", () => res.end());
    });
    up_.on("error", () => res.destroy());
    req.pipe(up_);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    host: `127.0.0.1:${port}`,
    requests,
    setFault(f) {
      state.fault = f;
      state.cutDone = false;
    },
    stop() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
