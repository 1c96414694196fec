/**
 * A disk that fills up while a pulled layer is unpacked: the pull fails with one line, no layer
 * is left marked complete (layers/ holds only fully extracted layers; half-made ones live under a
 * temporary name), and the same pull succeeds once there is room again.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImageStore, createRegistryClient } from "@tsctl/worker";
import { seed, startRegistry, type TestRegistry } from "./harness/registry.mjs";

let reg: TestRegistry;
let mountpoint = "";

beforeAll(async () => {
  reg = await startRegistry();
  await seed(reg, { ref: "small/busybox:1" });
  mountpoint = await mkdtemp(join(tmpdir(), "tsctl-full-"));
  // Room for the compressed blobs, not for them and the unpacked layer (~2 MB).
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1600k", "tmpfs", mountpoint]);
}, 60_000);

afterAll(async () => {
  if (mountpoint) {
    execFileSync("umount", ["-l", mountpoint], { stdio: "ignore" });
    await rm(mountpoint, { recursive: true, force: true });
  }
  await reg?.stop();
});

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

describe("disk full while unpacking a pulled layer", () => {
  it("fails cleanly, marks no layer complete, and succeeds once there is room", async () => {
    const root = join(mountpoint, "images");
    const store = await createImageStore({ root });
    const registry = createRegistryClient({ insecure: (h) => h === reg.host });
    const ref = `${reg.host}/small/busybox:1`;
    const err = await store.pull(ref, { registry }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err, "the pull should fail on a full disk").toBeDefined();
    expect(err!.message.split("\n")).toHaveLength(1);
    expect(err!.message).toMatch(new RegExp(`error pulling ${ref.replace(/[.]/g, "\\.")}: no space left on device`));
    // Only complete layers may carry their chain id as a name.
    expect((await entries(join(root, "layers"))).filter((n) => !n.startsWith("."))).toEqual([]);
    await expect(store.resolve(ref)).rejects.toMatchObject({ code: "NotFound" });

    execFileSync("mount", ["-o", "remount,size=64m", mountpoint]);
    const res = await store.pull(ref, { registry });
    expect((await store.resolve(ref)).id).toBe(res.id);
    expect((await entries(join(root, "layers"))).filter((n) => !n.startsWith(".")).length).toBeGreaterThan(0);
  }, 60_000);
});
