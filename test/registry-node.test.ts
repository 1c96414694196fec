/**
 * Registry images through a real tsd: `image pull` with Docker's progress lines, a service whose
 * image exists only in the registry (pinned to its digest by the manager, pulled by the worker
 * when the task needs it), --no-resolve-image, and a missing image reported on the task.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seed, startRegistry, type TestRegistry } from "./harness/registry.mjs";
import { TsdNode } from "./harness/tsd-node.js";

let reg: TestRegistry;
let node: TsdNode;

beforeAll(async () => {
  // Basic auth over TLS: the node trusts the registry's CA through its certs.d directory, and the
  // CLI passes credentials from a Docker-style config.json.
  reg = await startRegistry({ auth: "basic", tls: true });
  await seed(reg, { ref: "shop/web:1.4" });
  await seed(reg, { ref: "shop/api:2" });
  node = await TsdNode.create("reg-node");
  const certs = join(node.dir, "certs.d");
  await mkdir(join(certs, reg.host), { recursive: true });
  await writeFile(join(certs, reg.host, "ca.crt"), reg.caPem!);
  const home = join(node.dir, "home");
  await mkdir(join(home, ".docker"), { recursive: true });
  await writeFile(join(home, ".docker", "config.json"), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${reg.username}:${reg.password}`).toString("base64") } } }));
  process.env["HOME"] = home;
  node.extraArgs = ["--registry-certs-dir", certs];
  await node.start();
  await node.cliOk("swarm", "init", "--listen-addr", "127.0.0.1:0");
}, 120_000);

afterAll(async () => {
  await node?.dispose();
  await reg?.stop();
});

describe("registry images on a node", () => {
  it("pulls with Docker's progress lines, then finds the image by tag and digest; a second pull is up to date", async () => {
    const ref = `${reg.host}/shop/web:1.4`;
    const out = await node.cliOk("image", "pull", ref);
    expect(out).toMatch(/^[0-9a-f]{12}: Pulling fs layer$/m);
    expect(out).toMatch(/^[0-9a-f]{12}: Pull complete$/m);
    const digest = /^Digest: (sha256:[0-9a-f]{64})$/m.exec(out)?.[1];
    expect(digest).toBeDefined();
    expect(out).toContain(`Status: Downloaded newer image for ${ref}`);
    expect(await node.cliOk("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")).toContain(ref);
    await node.cliOk("image", "inspect", `${reg.host}/shop/web@${digest}`);
    const again = await node.cliOk("image", "pull", ref);
    expect(again).toMatch(/Already exists/);
    expect(again).toContain(`Status: Image is up to date for ${ref}`);
  }, 60_000);

  it("runs a service whose image is only in the registry, pinned to its digest and pulled by the node with the service's credentials", async () => {
    const ref = `${reg.host}/shop/api:2`;
    // Without the credentials the nodes could not pull from this registry (as with Docker).
    await node.cliOk("service", "create", "--name", "api", "--replicas", "2", "--with-registry-auth", ref, "sleep", "3600");
    const image = (await node.cliOk("service", "inspect", "api", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}")).trim();
    expect(image).toMatch(new RegExp(`^${ref.replace(/[.]/g, "\\.")}@sha256:[0-9a-f]{64}$`));
    const ps = await node.cliOk("service", "ps", "api", "--format", "{{.CurrentState}}");
    expect(ps.trim().split("\n").every((l) => l.startsWith("Running"))).toBe(true);
    await node.cliOk("service", "rm", "api");
  }, 120_000);

  it("keeps the tag with --no-resolve-image, and reports a missing image on the task", async () => {
    await node.cliOk("service", "create", "-d", "--no-resolve-image", "--name", "unpinned", `${reg.host}/shop/web:1.4`, "sleep", "3600");
    expect((await node.cliOk("service", "inspect", "unpinned", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}")).trim()).toBe(`${reg.host}/shop/web:1.4`);
    const r = await node.cli("service", "create", "-d", "--with-registry-auth", "--name", "ghost", `${reg.host}/shop/ghost:9`, "sleep", "3600");
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/could not be accessed on a registry to record its digest/);
    const err = await node.waitFor("the missing image's error on the task", async () => {
      const e = (await node.cliOk("service", "ps", "ghost", "--format", "{{.Error}}", "--no-trunc")).trim();
      return /not found/.test(e) ? e : undefined;
    }, 60_000);
    expect(err).toContain("shop/ghost:9");
    await node.cliOk("service", "rm", "unpinned", "ghost");
  }, 120_000);

  it("shows disk usage and prunes unused images, asking first unless forced", async () => {
    const df = await node.cliOk("system", "df");
    expect(df).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/m);
    const images = Number(/^Images\s+(\d+)/m.exec(df)?.[1]);
    // shop/web and shop/api were both pushed from the same busybox archive: one image, two names.
    expect(images).toBeGreaterThanOrEqual(1);
    // No answer on stdin is a no.
    const asked = await node.cli("image", "prune", "-a");
    expect(asked.stderr).toMatch(/WARNING! This will remove all images without at least one container associated to them/);
    expect((await node.cliOk("image", "ls", "-q")).trim().split("\n").length).toBe(images);
    await node.waitFor("the services' containers to be gone", async () => (await node.cliOk("container", "ls", "-a", "-q")).trim() === "", 60_000);
    const pruned = await node.cliOk("image", "prune", "-a", "-f");
    expect(pruned).toMatch(/^deleted: sha256:/m);
    const reclaimed = /Total reclaimed space: (\S+)/.exec(pruned)?.[1];
    expect(reclaimed).not.toBe("0B");
    expect((await node.cliOk("image", "ls", "-q")).trim()).toBe("");
    expect(await node.cliOk("system", "df")).toMatch(/^Images\s+0\s+0\s+/m);
  }, 120_000);
});
