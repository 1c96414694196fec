import { describe, expect, it } from "vitest";
import { toRemote } from "./repository.js";

describe("toRemote", () => {
  it("maps familiar names to Docker Hub", () => {
    expect(toRemote("busybox")).toMatchObject({
      host: "docker.io",
      endpoint: "registry-1.docker.io",
      repository: "library/busybox",
      reference: "latest",
      display: "busybox:latest",
    });
    expect(toRemote("docker.io/me/app:1")).toMatchObject({ host: "docker.io", repository: "me/app", tag: "1", display: "me/app:1" });
  });

  it("keeps registry hosts and digests", () => {
    const d = `sha256:${"a".repeat(64)}`;
    expect(toRemote(`127.0.0.1:5000/team/web@${d}`)).toMatchObject({
      host: "127.0.0.1:5000",
      endpoint: "127.0.0.1:5000",
      repository: "team/web",
      reference: d,
      digest: d,
      name: "127.0.0.1:5000/team/web",
    });
    expect(toRemote("localhost/x")).toMatchObject({ host: "localhost", repository: "x" });
  });
});
