import { describe, expect, it } from "vitest";
import { parseChallenges } from "./challenge.js";

describe("parseChallenges", () => {
  it("parses a registry bearer challenge", () => {
    const h = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"';
    expect(parseChallenges(h)).toEqual([
      {
        scheme: "bearer",
        params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/busybox:pull" },
      },
    ]);
  });

  it("parses basic, token values, escapes and several challenges", () => {
    expect(parseChallenges('Basic realm="a \\"b\\" c"')).toEqual([{ scheme: "basic", params: { realm: 'a "b" c' } }]);
    expect(parseChallenges("Basic realm=simple, Bearer realm=\"r\", error=\"invalid_token\"")).toEqual([
      { scheme: "basic", params: { realm: "simple" } },
      { scheme: "bearer", params: { realm: "r", error: "invalid_token" } },
    ]);
    expect(parseChallenges('Negotiate abc==, Basic realm="x"')).toEqual([
      { scheme: "negotiate", params: {} },
      { scheme: "basic", params: { realm: "x" } },
    ]);
  });

  it("keeps scopes with commas inside quotes", () => {
    const [c] = parseChallenges('Bearer  realm = "r" , scope="repository:a/b:pull,push"');
    expect(c?.params).toEqual({ realm: "r", scope: "repository:a/b:pull,push" });
  });

  it("tolerates empty and garbage input", () => {
    expect(parseChallenges("")).toEqual([]);
    expect(parseChallenges("   ,  ")).toEqual([]);
    expect(parseChallenges('Bearer realm="unterminated')).toEqual([{ scheme: "bearer", params: { realm: "unterminated" } }]);
  });
});
