import { mkdtemp, mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { credentialsFor, registryHost } from "./credentials.js";

describe("registry credentials", () => {
  it("names the registry of a reference as Docker does", () => {
    expect(registryHost("busybox")).toBe("docker.io");
    expect(registryHost("library/busybox:1")).toBe("docker.io");
    expect(registryHost("127.0.0.1:5000/shop/web:1.4")).toBe("127.0.0.1:5000");
    expect(registryHost("localhost/web")).toBe("localhost");
    expect(registryHost("ghcr.io/org/app@sha256:abc")).toBe("ghcr.io");
  });

  it("reads config.json auths, tsctl's before Docker's, Docker Hub under its legacy key", async () => {
    const dir = await mkdtemp(join(tmpdir(), "creds-"));
    const ours = join(dir, "tsctl.json");
    const docker = join(dir, "docker.json");
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    await writeFile(ours, JSON.stringify({ auths: { "reg.local:5000": { auth: b64("alice:s3cret:with:colons") } } }));
    await writeFile(docker, JSON.stringify({ auths: { "reg.local:5000": { auth: b64("bob:x") }, "https://index.docker.io/v1/": { auth: b64("hub:pw") } } }));
    expect(credentialsFor("reg.local:5000/web:1", [ours, docker])).toEqual({ username: "alice", password: "s3cret:with:colons" });
    expect(credentialsFor("busybox", [ours, docker])).toEqual({ username: "hub", password: "pw" });
    expect(credentialsFor("other.io/x", [ours, docker])).toBeUndefined();
    await mkdir(join(dir, "missing"), { recursive: true });
    expect(credentialsFor("reg.local:5000/web", [join(dir, "missing", "none.json")])).toBeUndefined();
  });
});
