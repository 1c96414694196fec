// Pulling images from a real registry (Debian's docker-registry on loopback, seeded with skopeo):
// tags and digests in Docker schema2 and OCI form, multi-platform indexes, anonymous / basic+TLS /
// bearer auth, shared layers, and bad registries (corrupt or cut blobs, 500s, unknown tags).
import { readdir, mkdtemp, rm, access } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createImageStore, createRegistryClient, hostPlatform, type PullingImageStore, type PullProgress, type RegistryOptions } from "@tsctl/worker";
import {
  pushVariant,
  seed,
  seedIndex,
  startFaultProxy,
  startRegistry,
  type FaultProxy,
  type TestRegistry,
} from "./harness/registry.mjs";

const host = hostPlatform();
const other = host.architecture === "arm64" ? { os: "linux", architecture: "amd64" } : { os: "linux", architecture: "arm64", variant: "v8" };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function newStore(): Promise<{ store: PullingImageStore; root: string }> {
  const root = await mkdtemp(join(tmpdir(), "tsctl-pull-"));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  return { store: await createImageStore({ root }), root };
}

/** clientFor trusts reg the way a node configured for it would; plain HTTP only for listed hosts. */
function clientFor(reg: TestRegistry, o: { creds?: boolean; ca?: boolean; insecure?: string[] } = {}) {
  const opts: RegistryOptions = {
    insecure: (h) => (o.insecure ?? (reg.tls ? [] : [reg.host])).includes(h),
    ca: () => (o.ca === false ? undefined : reg.caPem),
    retry: { delayMs: 20 },
  };
  if (o.creds !== false && reg.username !== undefined) {
    const c = { username: reg.username, password: reg.password ?? "" };
    opts.credentials = () => c;
  }
  return createRegistryClient(opts);
}

async function expectFile(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe("anonymous registry", () => {
  let reg: TestRegistry;
  let v2s2: string;
  let oci: string;
  beforeAll(async () => {
    reg = await startRegistry();
    v2s2 = (await seed(reg, { ref: "busybox:v2s2", format: "v2s2" })).digest;
    oci = (await seed(reg, { ref: "busybox:oci", format: "oci" })).digest;
  });
  afterAll(() => reg?.stop());

  it("pulls by tag (schema2) and finds the image by tag, digest ref and id", async () => {
    const { store } = await newStore();
    const events: PullProgress[] = [];
    const ref = `${reg.host}/busybox:v2s2`;
    const res = await store.pull(ref, { registry: clientFor(reg), onProgress: (p) => events.push(p) });
    expect(res.digest).toBe(v2s2);
    expect(res.ref).toBe(ref);
    for (const r of [ref, `${reg.host}/busybox@${v2s2}`, res.id, res.id.slice(7, 19)]) {
      const img = await store.resolve(r);
      expect(img.id).toBe(res.id);
      expect(img.architecture).toBe(host.architecture);
      expect(await expectFile(join(img.layerPaths[0] ?? "", "bin/busybox"))).toBe(true);
    }
    const rec = await store.inspect(ref);
    expect(rec.repoTags).toEqual([ref]);
    expect(rec.repoDigests).toEqual([`${reg.host}/busybox@${v2s2}`]);
    const actions = new Set(events.map((e) => e.action));
    for (const a of ["waiting", "downloading", "verifying", "extracting", "complete"]) expect(actions).toContain(a);
    expect(await clientFor(reg).resolveDigest(ref)).toBe(v2s2);
  });

  it("pulls by digest (OCI) and records only the digest reference", async () => {
    const { store } = await newStore();
    const ref = `${reg.host}/busybox@${oci}`;
    const res = await store.pull(ref, { registry: clientFor(reg) });
    expect(res).toMatchObject({ digest: oci, ref });
    const rec = await store.inspect(ref);
    expect(rec.repoTags).toEqual([]);
    expect(rec.repoDigests).toEqual([ref]);
    expect((await store.resolve(res.id)).layerPaths).toHaveLength(1);
  });

  for (const format of ["v2s2", "oci"] as const) {
    it(`picks linux/${host.architecture} from a two-platform ${format} index`, async () => {
      const ix = await seedIndex(reg, { ref: `multi-${format}:latest`, platforms: [other, host], format });
      const mine = ix.manifests.find((m) => m.platform.architecture === host.architecture);
      const { store } = await newStore();
      const res = await store.pull(`${reg.host}/multi-${format}`, { registry: clientFor(reg) });
      expect(res.digest).toBe(ix.digest);
      expect(res.id).toBe(mine?.configDigest);
      expect((await store.resolve(`${reg.host}/multi-${format}@${ix.digest}`)).architecture).toBe(host.architecture);
      expect(await clientFor(reg).resolveDigest(`${reg.host}/multi-${format}:latest`)).toBe(ix.digest);
    });
  }

  it("refuses an index without our platform with Docker's message", async () => {
    await seedIndex(reg, { ref: "foreign:latest", platforms: [{ os: "linux", architecture: "s390x" }, { os: "linux", architecture: "ppc64le" }] });
    const { store } = await newStore();
    const want = host.architecture === "arm64" ? "linux/arm64/v8" : `linux/${host.architecture}`;
    await expect(store.pull(`${reg.host}/foreign`, { registry: clientFor(reg) })).rejects.toMatchObject({
      code: "NotFound",
      message: `no matching manifest for ${want} in the manifest list entries`,
    });
  });

  it("reports 'exists' for layers already stored and downloads nothing again", async () => {
    const { store } = await newStore();
    await store.pull(`${reg.host}/busybox:v2s2`, { registry: clientFor(reg) });
    const labelled = await pushVariant(reg, "busybox", v2s2, { config: { Labels: { variant: "labelled" } } }, "labelled");
    const proxy = await startFaultProxy(reg.host, "none");
    cleanups.push(() => proxy.stop());
    const events: PullProgress[] = [];
    const ref = `${proxy.host}/busybox:labelled`;
    const res = await store.pull(ref, { registry: clientFor(reg, { insecure: [proxy.host] }), onProgress: (p) => events.push(p) });
    expect(res.id).toBe(labelled.configDigest);
    expect(events.map((e) => e.action)).toEqual(["exists"]);
    const blobGets = proxy.requests.filter((r) => r.startsWith("GET") && r.includes("/blobs/"));
    expect(blobGets).toEqual([`GET /v2/busybox/blobs/${labelled.configDigest}`]);
    expect((await store.list()).map((i) => i.id).sort()).toContain(labelled.configDigest);
  });

  describe("through a fault proxy", () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy(reg.host, "none");
    });
    afterAll(() => proxy?.stop());
    const client = () => clientFor(reg, { insecure: [proxy.host] });

    it("rejects a corrupted blob, naming its digest, and stores nothing", async () => {
      proxy.setFault("corrupt");
      const { store, root } = await newStore();
      const err = (await store.pull(`${proxy.host}/busybox:v2s2`, { registry: client() }).catch((e: unknown) => e)) as Error & { code: string };
      expect(err.code).toBe("InvalidArgument");
      const digest = /blob (sha256:[a-f0-9]{64}) failed verification/.exec(err.message)?.[1];
      expect(digest).toBeDefined();
      expect(err.message).toContain(`error pulling ${proxy.host}/busybox:v2s2`);
      expect(await expectFile(join(root, "blobs/sha256", (digest ?? "").slice(7)))).toBe(false);
      expect(await readdir(join(root, "tmp"))).toEqual([]);
      expect(await readdir(join(root, "layers"))).toEqual([]);
      expect(await store.list()).toEqual([]);
      await expect(store.resolve(`${proxy.host}/busybox:v2s2`)).rejects.toMatchObject({ code: "NotFound" });
    });

    it("completes a download cut half-way by resuming it", async () => {
      proxy.setFault("cut-once");
      proxy.requests.length = 0;
      const { store } = await newStore();
      const res = await store.pull(`${proxy.host}/busybox:v2s2`, { registry: client() });
      expect(res.digest).toBe(v2s2);
      const layerGets = proxy.requests.filter((r) => r.startsWith("GET") && r.includes("/blobs/"));
      // config, the cut layer transfer, and its resumption from where the cut left it
      expect(layerGets).toHaveLength(3);
      expect(layerGets[2]).toMatch(/^GET \/v2\/busybox\/blobs\/sha256:[a-f0-9]{64} bytes=\d+-$/);
    });

    it("turns a 500 into one line naming the image", async () => {
      proxy.setFault("500");
      const { store } = await newStore();
      const err = (await store.pull(`${proxy.host}/busybox:v2s2`, { registry: client() }).catch((e: unknown) => e)) as Error & { code: string };
      expect(err.code).toBe("Unavailable");
      expect(err.message).toBe(`error pulling ${proxy.host}/busybox:v2s2: received unexpected HTTP status: 500 Internal Server Error`);
      proxy.setFault("none");
    });
  });

  it("says which manifest is unknown", async () => {
    const { store } = await newStore();
    await expect(store.pull(`${reg.host}/busybox:nope`, { registry: clientFor(reg) })).rejects.toMatchObject({
      code: "NotFound",
      message: `manifest for ${reg.host}/busybox:nope not found`,
    });
    await expect(clientFor(reg).resolveDigest(`${reg.host}/nothing-here:1`)).rejects.toMatchObject({ code: "NotFound" });
  });

  it("does not treat 127.0.0.1 as insecure unless told", async () => {
    const { store } = await newStore();
    const err = (await store.pull(`${reg.host}/busybox:v2s2`, { registry: clientFor(reg, { insecure: [] }) }).catch((e: unknown) => e)) as Error & { code: string };
    expect(err.code).toBe("Unavailable");
    expect(err.message.split("\n")).toHaveLength(1);
  });
});

describe("basic auth over TLS", () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: "basic", tls: true });
    await seed(reg, { ref: "busybox:latest" });
  });
  afterAll(() => reg?.stop());

  it("pulls with credentials and the registry's CA", async () => {
    const { store } = await newStore();
    const res = await store.pull(`${reg.host}/busybox`, { registry: clientFor(reg) });
    expect((await store.resolve(`${reg.host}/busybox:latest`)).id).toBe(res.id);
  });

  it("is refused without credentials", async () => {
    const { store } = await newStore();
    await expect(store.pull(`${reg.host}/busybox`, { registry: clientFor(reg, { creds: false }) })).rejects.toMatchObject({
      code: "PermissionDenied",
      message: `unauthorized: authentication required for ${reg.host}/busybox:latest`,
    });
  });

  it("does not trust the registry without its CA", async () => {
    const { store } = await newStore();
    await expect(store.pull(`${reg.host}/busybox`, { registry: clientFor(reg, { ca: false }) })).rejects.toMatchObject({
      code: "Unavailable",
      message: expect.stringMatching(/^error pulling .*certificate/),
    });
  });
});

describe("token auth", () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: "bearer" });
    await seed(reg, { ref: "busybox:latest", format: "oci" });
  });
  afterAll(() => reg?.stop());

  it("pulls after the Bearer challenge, with one token for the whole pull", async () => {
    const { store } = await newStore();
    const before = reg.tokenStats?.requests ?? 0;
    const res = await store.pull(`${reg.host}/busybox:latest`, { registry: clientFor(reg) });
    expect((await store.resolve(`${reg.host}/busybox`)).id).toBe(res.id);
    expect((reg.tokenStats?.requests ?? 0) - before).toBe(1);
  });

  it("is refused without credentials (the anonymous token grants nothing)", async () => {
    const { store } = await newStore();
    await expect(store.pull(`${reg.host}/busybox:latest`, { registry: clientFor(reg, { creds: false }) })).rejects.toMatchObject({
      code: "PermissionDenied",
      message: `unauthorized: authentication required for ${reg.host}/busybox:latest`,
    });
  });

  it("is refused with a wrong password", async () => {
    const client = createRegistryClient({ insecure: () => true, credentials: () => ({ username: "tsctl", password: "wrong" }) });
    await expect(client.resolveDigest(`${reg.host}/busybox:latest`)).rejects.toMatchObject({ code: "PermissionDenied" });
  });
});
