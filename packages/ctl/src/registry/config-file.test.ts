import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginKey, removeAuth, storeAuth } from "./config-file.js";
import { credentialsFor, dockerHubKey } from "./credentials.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tsctl-config-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("loginKey", () => {
  it("keys Docker Hub as Docker does and other registries by host[:port]", () => {
    expect(loginKey(undefined)).toBe(dockerHubKey);
    expect(loginKey("docker.io")).toBe(dockerHubKey);
    expect(loginKey("https://index.docker.io/v1/")).toBe(dockerHubKey);
    expect(loginKey("https://reg.local:5000/v2/")).toBe("reg.local:5000");
    expect(loginKey("127.0.0.1:5000")).toBe("127.0.0.1:5000");
  });
});

describe("storeAuth / removeAuth", () => {
  it("writes Docker's format with mode 0600, keeps other keys, and is read back by credentialsFor", async () => {
    const path = join(dir, ".tsctl", "config.json");
    storeAuth(path, "reg:5000", "u", "p:w");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(credentialsFor("reg:5000/web:1", [path])).toEqual({ username: "u", password: "p:w" });
    const doc = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
    await writeFile(path, JSON.stringify({ ...doc, credsStore: "none" }));
    storeAuth(path, dockerHubKey, "hub", "pw");
    expect(credentialsFor("busybox", [path])).toEqual({ username: "hub", password: "pw" });
    expect(removeAuth(path, "reg:5000")).toBe(true);
    expect(removeAuth(path, "reg:5000")).toBe(false);
    const after = JSON.parse(await readFile(path, "utf8")) as { auths: Record<string, unknown>; credsStore: string };
    expect(Object.keys(after.auths)).toEqual([dockerHubKey]);
    expect(after.credsStore).toBe("none");
  });
});
