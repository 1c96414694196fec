/**
 * The pure parts of a push: the Docker schema2 manifest of an image that came without one (a
 * `docker save` archive), and which repositories of the target registry a blob may be mounted
 * from (cross-repository blob mount, OCI distribution spec "Mounting a blob from another
 * repository").
 */
import { MediaType } from "./manifest.js";
import { toRemote } from "./repository.js";

/** PushBlob is one blob of an image as the node holds it. */
export interface PushBlob {
  digest: string;
  size: number;
  mediaType: string;
  /** The blob's file in the content store. */
  path: string;
}

/** PushLayer is a layer blob with the id progress names it by (12 hex of its diff_id, as Docker). */
export interface PushLayer extends PushBlob {
  id: string;
}

/** PushManifest is the manifest document a push puts under the tag. */
export interface PushManifest {
  mediaType: string;
  bytes: Uint8Array;
}

/**
 * schema2Manifest builds a Docker image manifest (schema 2) for config and layers, formatted as
 * Docker formats it (three-space indent) so equal images give equal digests.
 */
export function schema2Manifest(config: Omit<PushBlob, "path">, layers: readonly Omit<PushBlob, "path">[]): PushManifest {
  const doc = {
    schemaVersion: 2,
    mediaType: MediaType.dockerManifest,
    config: { mediaType: MediaType.dockerConfig, size: config.size, digest: config.digest },
    layers: layers.map((l) => ({ mediaType: l.mediaType, size: l.size, digest: l.digest })),
  };
  return { mediaType: MediaType.dockerManifest, bytes: Buffer.from(JSON.stringify(doc, null, 3)) };
}

/** storedManifestType reads a stored manifest's media type (OCI layouts may omit it: then OCI). */
export function storedManifestType(bytes: Uint8Array): string {
  try {
    const doc = JSON.parse(Buffer.from(bytes).toString("utf8")) as { mediaType?: unknown };
    if (typeof doc.mediaType === "string" && doc.mediaType !== "") return doc.mediaType;
  } catch {
    // The store verified the manifest when it was loaded; an unreadable one is pushed as OCI.
  }
  return MediaType.ociManifest;
}

/**
 * mountCandidates lists the repositories on target's registry, other than target's own, that the
 * image's references name (its repo digests and tags): blobs pushed or pulled there can be mounted.
 */
export function mountCandidates(target: string, refs: readonly string[]): string[] {
  const t = toRemote(target);
  const out: string[] = [];
  for (const ref of refs) {
    let r;
    try {
      r = toRemote(ref);
    } catch {
      continue;
    }
    if (r.host === t.host && r.repository !== t.repository && !out.includes(r.repository)) out.push(r.repository);
  }
  return out;
}
