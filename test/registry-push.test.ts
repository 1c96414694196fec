/**
 * Pushing, logging in, saving and image history through a real tsd against a real docker-registry
 * (basic auth over TLS): login stores the credentials, push uploads a loaded image and a second
 * node pulls it back as the same image, a repeated push finds every layer, a push to another
 * repository mounts them; save → load round-trips and skopeo reads the archive too.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry, type TestRegistry } from "./harness/registry.mjs";
import { busyboxTar, TsdNode } from "./harness/tsd-node.js";

const run = promisify(execFile);
let reg: TestRegistry;
let a: TsdNode;
let b: TsdNode;
let home: string;
let work: string;

/** startNode runs a tsd that trusts the registry's CA through its certs.d directory. */
async function startNode(name: string): Promise<TsdNode> {
  const node = await TsdNode.create(name);
  const certs = join(node.dir, "certs.d");
  await mkdir(join(certs, reg.host), { recursive: true });
  await writeFile(join(certs, reg.host, "ca.crt"), reg.caPem!);
  node.extraArgs = ["--registry-certs-dir", certs];
  await node.start();
  return node;
}

const imageId = async (node: TsdNode, ref: string) => (await node.cliOk("image", "inspect", "--format", "{{.Id}}", ref)).trim();

beforeAll(async () => {
  reg = await startRegistry({ auth: "basic", tls: true });
  work = await mkdtemp(join(tmpdir(), "tsctl-push-"));
  // The CLI keeps its credentials under $HOME/.tsctl; this test's HOME starts without any.
  home = join(work, "home");
  await mkdir(home);
  process.env["HOME"] = home;
  a = await startNode("push-a");
  b = await startNode("push-b");
  await a.cliOk("image", "load", "-i", busyboxTar);
  await a.cliOk("image", "tag", "busybox:latest", `${reg.host}/shop/busybox:1`);
}, 120_000);

afterAll(async () => {
  await a?.dispose();
  await b?.dispose();
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("image push and login", () => {
  it("refuses a wrong password in one line with exit 1, and stores nothing", async () => {
    const r = await a.cli("login", "-u", reg.username!, "--password", "wrong", reg.host);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n").filter((l) => !l.startsWith("WARNING!"))).toEqual([
      "Error response from daemon: unauthorized: incorrect username or password",
    ]);
    await expect(stat(join(home, ".tsctl", "config.json"))).rejects.toThrow();
  });

  it("refuses a push without credentials", async () => {
    const r = await a.cli("image", "push", `${reg.host}/shop/busybox:1`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unauthorized/);
  });

  it("logs in (config.json in Docker's format, mode 0600), pushes, and records the repo digest", async () => {
    const login = await a.cli("login", "-u", reg.username!, "-p", reg.password!, reg.host);
    expect(login.code).toBe(0);
    expect(login.stdout).toBe("Login Succeeded\n");
    const path = join(home, ".tsctl", "config.json");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const cfg = JSON.parse(await readFile(path, "utf8")) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(cfg.auths[reg.host]!.auth, "base64").toString()).toBe(`${reg.username}:${reg.password}`);

    const ref = `${reg.host}/shop/busybox:1`;
    const out = await a.cliOk("image", "push", ref);
    expect(out).toMatch(new RegExp(`^The push refers to repository \\[${reg.host}/shop/busybox\\]$`, "m"));
    expect(out).toMatch(/^[0-9a-f]{12}: Preparing$/m);
    expect(out).toMatch(/^[0-9a-f]{12}: Pushed$/m);
    const digest = /^1: digest: (sha256:[0-9a-f]{64}) size: \d+$/m.exec(out)?.[1];
    expect(digest).toBeDefined();
    const digests = await a.cliOk("image", "inspect", "--format", "{{json .RepoDigests}}", ref);
    expect(JSON.parse(digests)).toContain(`${reg.host}/shop/busybox@${digest}`);

    const again = await a.cliOk("image", "push", ref);
    const states = again.split("\n").filter((l) => /^[0-9a-f]{12}: /.test(l) && !l.endsWith("Preparing"));
    expect(states.length).toBeGreaterThan(0);
    expect(states.every((l) => l.endsWith(": Layer already exists"))).toBe(true);
    expect(again).toContain(`1: digest: ${digest}`);
  });

  it("pulls the pushed image on a fresh node as the same image, and pushes it on by mounting", async () => {
    const ref = `${reg.host}/shop/busybox:1`;
    await b.cliOk("image", "pull", ref);
    expect(await imageId(b, ref)).toBe(await imageId(a, "busybox:latest"));
    // b knows the blobs are in shop/busybox (its repo digest): another repository mounts them.
    await b.cliOk("image", "tag", ref, `${reg.host}/mirror/busybox:1`);
    const out = await b.cliOk("image", "push", `${reg.host}/mirror/busybox:1`);
    expect(out).toMatch(/^[0-9a-f]{12}: Mounted from shop\/busybox$/m);
    // The pulled manifest is pushed byte for byte: the same digest as the original.
    const first = /digest: (sha256:[0-9a-f]{64})/.exec(await a.cliOk("image", "push", ref))?.[1];
    expect(out).toContain(`1: digest: ${first}`);
  });

  it("serves the pushed image to skopeo too (an outside reader of the manifest and blobs)", async () => {
    const dir = join(work, "skopeo-pushed");
    await run(
      "skopeo",
      ["copy", "--quiet", "--src-tls-verify=false", "--src-creds", `${reg.username}:${reg.password}`, `docker://${reg.host}/shop/busybox:1`, `dir:${dir}`],
      { env: { ...process.env, TMPDIR: work } },
    );
    const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as { config: { digest: string } };
    expect(manifest.config.digest).toBe(await imageId(a, "busybox:latest"));
  });

  it("logout removes the credentials", async () => {
    expect(await a.cliOk("logout", reg.host)).toBe(`Removing login credentials for ${reg.host}\n`);
    expect(await a.cliOk("logout", reg.host)).toBe(`Not logged in to ${reg.host}\n`);
  });
});

describe("image save and history", () => {
  it("saves an archive that a fresh node loads back and skopeo reads", async () => {
    const file = join(work, "busybox.tar");
    await a.cliOk("image", "save", "-o", file, "busybox:latest");
    const id = await imageId(a, "busybox:latest");
    const c = await startNode("push-c");
    try {
      expect(await c.cliOk("image", "load", "-i", file)).toBe("Loaded image: busybox:latest\n");
      expect(await imageId(c, "busybox:latest")).toBe(id);
    } finally {
      await c.dispose();
    }
    const dir = join(work, "skopeo-dir");
    await run("skopeo", ["copy", "--quiet", `docker-archive:${file}`, `dir:${dir}`], { env: { ...process.env, TMPDIR: work } });
    const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as { config: { digest: string } };
    expect(manifest.config.digest).toBe(id);
  });

  it("saves a pulled image (gzip layers inflated) and two tags of one image", async () => {
    const file = join(work, "two.tar");
    await b.cliOk("image", "save", "-o", file, `${reg.host}/shop/busybox:1`, `${reg.host}/mirror/busybox:1`);
    await b.cliOk("image", "rm", `${reg.host}/shop/busybox:1`, `${reg.host}/mirror/busybox:1`);
    const loaded = await b.cliOk("image", "load", "-i", file);
    expect(loaded).toContain(`Loaded image: ${reg.host}/shop/busybox:1`);
    expect(loaded).toContain(`Loaded image: ${reg.host}/mirror/busybox:1`);
  });

  it("refuses to write an archive to a terminal only when stdout is one (here it is a pipe)", async () => {
    const r = await a.cli("image", "save", "busybox:latest");
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(1024);
  });

  it("lists the busybox image's history", async () => {
    const id = await imageId(a, "busybox:latest");
    const out = await a.cliOk("image", "history", "busybox");
    const lines = out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^${id.slice(7, 19)}\\s+\\d+ years ago\\s+scripts/build-busybox-image\\.mjs\\s+\\d`));
    expect((await a.cliOk("image", "history", "-q", "--no-trunc", "busybox")).trim()).toBe(id);
    expect((await a.cliOk("image", "history", "--format", "{{.CreatedBy}}", "busybox")).trim()).toBe("scripts/build-busybox-image.mjs");
  });
});

describe("token auth", () => {
  let tokenReg: TestRegistry;
  beforeAll(async () => {
    tokenReg = await startRegistry({ auth: "bearer", tls: true });
    // certs.d is read per request, so the running node trusts the new registry at once.
    await mkdir(join(a.dir, "certs.d", tokenReg.host), { recursive: true });
    await writeFile(join(a.dir, "certs.d", tokenReg.host, "ca.crt"), tokenReg.caPem!);
  });
  afterAll(async () => {
    await tokenReg?.stop();
  });

  it("logs in through the token server, pushes, and mounts with a token for both repositories", async () => {
    const bad = await a.cli("login", "-u", tokenReg.username!, "-p", "nope", tokenReg.host);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("unauthorized: incorrect username or password");
    await a.cliOk("login", "-u", tokenReg.username!, "-p", tokenReg.password!, tokenReg.host);
    await a.cliOk("image", "tag", "busybox:latest", `${tokenReg.host}/t/busybox:1`);
    expect(await a.cliOk("image", "push", `${tokenReg.host}/t/busybox:1`)).toMatch(/: Pushed$/m);
    await a.cliOk("image", "tag", "busybox:latest", `${tokenReg.host}/u/busybox:1`);
    expect(await a.cliOk("image", "push", `${tokenReg.host}/u/busybox:1`)).toMatch(/^[0-9a-f]{12}: Mounted from t\/busybox$/m);
    expect(await a.cliOk("image", "push", "-q", `${tokenReg.host}/u/busybox:1`)).toBe(`${tokenReg.host}/u/busybox:1\n`);
  });
});
