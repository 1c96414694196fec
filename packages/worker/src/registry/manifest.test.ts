import { describe, expect, it } from "vitest";
import { layerCompression, MediaType, parseManifest } from "./manifest.js";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe("parseManifest", () => {
  it("parses a Docker schema2 manifest", () => {
    const m = {
      schemaVersion: 2,
      mediaType: MediaType.dockerManifest,
      config: { mediaType: MediaType.dockerConfig, digest: D("a"), size: 10 },
      layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", digest: D("b"), size: 20 }],
    };
    expect(parseManifest(enc(m), "application/json", "x")).toEqual({
      kind: "manifest",
      manifest: { mediaType: MediaType.dockerManifest, config: m.config, layers: m.layers },
    });
  });

  it("takes the media type from Content-Type when an OCI body leaves it out", () => {
    const m = { schemaVersion: 2, config: { mediaType: MediaType.ociConfig, digest: D("a"), size: 1 }, layers: [] };
    const p = parseManifest(enc(m), `${MediaType.ociManifest}; charset=utf-8`, "x");
    expect(p.kind === "manifest" && p.manifest.mediaType).toBe(MediaType.ociManifest);
    const ix = parseManifest(enc({ schemaVersion: 2, manifests: [] }), undefined, "x");
    expect(ix.kind).toBe("index");
  });

  it("parses an index with platforms", () => {
    const ix = {
      schemaVersion: 2,
      mediaType: MediaType.dockerManifestList,
      manifests: [
        { mediaType: MediaType.dockerManifest, digest: D("c"), size: 5, platform: { os: "linux", architecture: "arm", variant: "v7" } },
        { mediaType: MediaType.dockerManifest, digest: D("d"), size: 5 },
      ],
    };
    const p = parseManifest(enc(ix), MediaType.dockerManifestList, "x");
    expect(p).toEqual({ kind: "index", index: { mediaType: MediaType.dockerManifestList, manifests: ix.manifests } });
  });

  it("refuses schema1, bad digests, missing parts and non-JSON, naming the image", () => {
    expect(() => parseManifest(enc({ schemaVersion: 1, fsLayers: [] }), undefined, "img:1")).toThrow(/schema 1.*not supported/);
    const bad = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: { digest: "sha512:00", size: 1 }, layers: [] };
    expect(() => parseManifest(enc(bad), undefined, "img:1")).toThrow(/invalid manifest for img:1: config has an unsupported digest/);
    const traversal = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: { digest: "sha256:../../etc", size: 1 }, layers: [] };
    expect(() => parseManifest(enc(traversal), undefined, "img:1")).toThrow(/unsupported digest/);
    expect(() => parseManifest(enc({ schemaVersion: 2, mediaType: MediaType.ociManifest, layers: [] }), undefined, "i")).toThrow(/missing config/);
    expect(() => parseManifest(new TextEncoder().encode("<html>"), "text/html", "i")).toThrow(/not valid JSON/);
    expect(() => parseManifest(enc({ schemaVersion: 2, mediaType: "application/x-foo" }), undefined, "i")).toThrow(/unsupported manifest media type/);
  });
});

describe("layerCompression", () => {
  it("knows gzip and plain tar layers and refuses the rest", () => {
    expect(layerCompression("application/vnd.oci.image.layer.v1.tar+gzip", "x")).toBe("gzip");
    expect(layerCompression("application/vnd.docker.image.rootfs.diff.tar", "x")).toBe("none");
    expect(() => layerCompression("application/vnd.oci.image.layer.v1.tar+zstd", "img:1")).toThrow(
      'unsupported layer media type "application/vnd.oci.image.layer.v1.tar+zstd" in img:1',
    );
  });
});
