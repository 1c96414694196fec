/**
 * Image metadata as kept in `images/<id hex>.json`, and the derived values the store needs:
 * OCI chain IDs (which name unpacked layer directories, so identical stacks share them) and the
 * host platform in OCI naming.
 */
import { createHash } from "node:crypto";

/** StoredLayer is one layer of an image: its blob in the content store and its unpacked form. */
export interface StoredLayer {
  /** Digest of the blob as loaded (compressed or not). */
  blob: string;
  mediaType: string;
  diffId: string;
  chainId: string;
  /** Bytes of regular files once unpacked. */
  size: number;
}

/** StoredImage is the metadata file of one image; its id is the config blob's digest. */
export interface StoredImage {
  id: string;
  /** Digest of the OCI manifest blob, when the archive had one. */
  manifestDigest?: string;
  os: string;
  architecture: string;
  createdMs: number;
  loadedMs: number;
  layers: StoredLayer[];
}

/** chainIds computes OCI chain IDs: ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : `sha256:${createHash("sha256").update(`${prev} ${d}`).digest("hex")}`);
  }
  return out;
}

/** hostArchitecture is the Go/OCI name of this machine's architecture ("amd64", "arm64"). */
export function hostArchitecture(): string {
  const map: Record<string, string> = { x64: "amd64", ia32: "386", ppc64: "ppc64le" };
  return map[process.arch] ?? process.arch;
}

/** blobsOf lists every content-store blob an image holds on to. */
export function blobsOf(img: StoredImage): string[] {
  const out = [img.id, ...img.layers.map((l) => l.blob)];
  if (img.manifestDigest !== undefined) out.push(img.manifestDigest);
  return out;
}

/** shortId is the 12-hex form Docker prints in messages. */
export function shortId(id: string): string {
  return id.slice(id.indexOf(":") + 1, id.indexOf(":") + 13);
}
