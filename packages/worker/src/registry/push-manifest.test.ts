import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseManifest } from "./manifest.js";
import { loginHost } from "./push.js";
import { mountCandidates, schema2Manifest, storedManifestType } from "./push-manifest.js";

const d = (c: string) => `sha256:${c.repeat(64)}`;

describe("schema2Manifest", () => {
  it("builds a schema2 manifest our own parser reads back, the same bytes every time", () => {
    const config = { digest: d("a"), size: 10, mediaType: "ignored" };
    const layers = [{ digest: d("b"), size: 20, mediaType: "application/vnd.docker.image.rootfs.diff.tar" }];
    const m = schema2Manifest(config, layers);
    expect(m.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    const parsed = parseManifest(m.bytes, m.mediaType, "x");
    expect(parsed).toEqual({
      kind: "manifest",
      manifest: {
        mediaType: m.mediaType,
        config: { mediaType: "application/vnd.docker.container.image.v1+json", digest: d("a"), size: 10 },
        layers: [{ mediaType: layers[0]!.mediaType, digest: d("b"), size: 20 }],
      },
    });
    const hash = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
    expect(hash(schema2Manifest(config, layers).bytes)).toBe(hash(m.bytes));
  });
});

describe("storedManifestType", () => {
  it("takes the document's mediaType, OCI when it has none", () => {
    expect(storedManifestType(Buffer.from('{"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}'))).toBe(
      "application/vnd.docker.distribution.manifest.v2+json",
    );
    expect(storedManifestType(Buffer.from('{"schemaVersion":2}'))).toBe("application/vnd.oci.image.manifest.v1+json");
  });
});

describe("mountCandidates", () => {
  it("lists other repositories of the same registry, once each, from tags and repo digests", () => {
    const refs = [
      `reg:5000/shop/web@${d("c")}`,
      "reg:5000/shop/web:1",
      "reg:5000/mirror/web:2",
      "other:5000/shop/web:1",
      "busybox:latest",
      "reg:5000/target/web:1",
    ];
    expect(mountCandidates("reg:5000/target/web:1", refs)).toEqual(["shop/web", "mirror/web"]);
    expect(mountCandidates("web:1", ["busybox:latest", "library/web:1"])).toEqual(["library/busybox"]);
  });
});

describe("loginHost", () => {
  it("reduces what login is given to host[:port], Docker Hub by default", () => {
    expect(loginHost("")).toBe("docker.io");
    expect(loginHost("https://index.docker.io/v1/")).toBe("docker.io");
    expect(loginHost("reg.local:5000")).toBe("reg.local:5000");
    expect(loginHost("https://reg.local:5000/v2/")).toBe("reg.local:5000");
  });
});
