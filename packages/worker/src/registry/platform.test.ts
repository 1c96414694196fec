import { describe, expect, it } from "vitest";
import { formatPlatform, normalizePlatform, selectManifest } from "./platform.js";
import type { Descriptor, Platform } from "./types.js";

const d = (n: number, platform?: Platform): Descriptor => ({
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
  size: 1,
  ...(platform !== undefined ? { platform } : {}),
});

describe("selectManifest", () => {
  const entries = [
    d(1, { os: "linux", architecture: "amd64" }),
    d(2, { os: "linux", architecture: "arm64", variant: "v8" }),
    d(3, { os: "linux", architecture: "arm", variant: "v6" }),
    d(4, { os: "linux", architecture: "arm", variant: "v7" }),
    d(5, { os: "windows", architecture: "amd64" }),
    d(6, { os: "unknown", architecture: "unknown" }),
    d(7),
  ];

  it("matches os and architecture", () => {
    expect(selectManifest(entries, { os: "linux", architecture: "amd64" })).toBe(entries[0]);
    expect(selectManifest(entries, { os: "windows", architecture: "amd64" })).toBe(entries[4]);
  });

  it("treats arm64 without a variant as v8 and maps aliases", () => {
    expect(selectManifest(entries, { os: "linux", architecture: "arm64" })).toBe(entries[1]);
    expect(selectManifest(entries, { os: "linux", architecture: "aarch64" })).toBe(entries[1]);
    expect(selectManifest([d(9, { os: "linux", architecture: "arm64" })], { os: "linux", architecture: "arm64", variant: "v8" })?.digest).toMatch(/^sha256:9/);
    expect(selectManifest(entries, { os: "Linux", architecture: "x86_64" })).toBe(entries[0]);
  });

  it("prefers the exact arm variant and falls back to older ones", () => {
    expect(selectManifest(entries, { os: "linux", architecture: "arm", variant: "v7" })).toBe(entries[3]);
    expect(selectManifest(entries, { os: "linux", architecture: "arm", variant: "v6" })).toBe(entries[2]);
    expect(selectManifest(entries, { os: "linux", architecture: "arm", variant: "v5" })).toBeUndefined();
    expect(selectManifest([entries[2] as Descriptor], { os: "linux", architecture: "arm", variant: "v8" })).toBe(entries[2]);
  });

  it("finds nothing for another platform, and skips entries without one", () => {
    expect(selectManifest(entries, { os: "linux", architecture: "s390x" })).toBeUndefined();
    expect(selectManifest([d(7)], { os: "linux", architecture: "amd64" })).toBeUndefined();
  });

  it("takes the first of equal entries", () => {
    const twins = [d(1, { os: "linux", architecture: "amd64" }), d(2, { os: "linux", architecture: "amd64" })];
    expect(selectManifest(twins, { os: "linux", architecture: "amd64" })).toBe(twins[0]);
  });
});

describe("normalizePlatform / formatPlatform", () => {
  it("fills default variants", () => {
    expect(normalizePlatform({ os: "linux", architecture: "arm64" })).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
    expect(normalizePlatform({ os: "linux", architecture: "armhf" })).toEqual({ os: "linux", architecture: "arm", variant: "v7" });
    expect(normalizePlatform({ os: "linux", architecture: "amd64", variant: "v1" })).toEqual({ os: "linux", architecture: "amd64" });
    expect(formatPlatform({ os: "linux", architecture: "arm", variant: "v7" })).toBe("linux/arm/v7");
    expect(formatPlatform({ os: "linux", architecture: "amd64" })).toBe("linux/amd64");
  });
});
