/**
 * What a push sends of a stored image: its config and layer blobs as files in the content store,
 * and its manifest. An image that came with a manifest (pulled, or an OCI layout) is pushed with
 * those very bytes, so its digest stays what its registry served; an image from a `docker save`
 * archive gets a Docker schema2 manifest over the blobs as loaded (uncompressed layer tars, media
 * type application/vnd.docker.image.rootfs.diff.tar, which distribution, containerd, skopeo and
 * our own pull accept).
 */
import { readFile, stat } from "node:fs/promises";
import { MediaType } from "../registry/manifest.js";
import { schema2Manifest, storedManifestType, type PushBlob, type PushLayer, type PushManifest } from "../registry/push-manifest.js";
import { hexOf } from "./fs-util.js";
import type { StoredImage } from "./image-meta.js";
import type { StoreFiles } from "./store-files.js";

/** ImageParts is an image as a push needs it. */
export interface ImageParts {
  id: string;
  config: PushBlob;
  layers: PushLayer[];
  manifest: PushManifest;
  /** Every reference of the image (tags and name@digest), for mount candidates. */
  refs: string[];
}

/** readParts reads img's manifest parts from the content store. */
export async function readParts(files: StoreFiles, img: StoredImage, refs: string[]): Promise<ImageParts> {
  const blob = async (digest: string, mediaType: string): Promise<PushBlob> => {
    const path = files.blobPath(digest);
    return { digest, mediaType, path, size: (await stat(path)).size };
  };
  const layers: PushLayer[] = [];
  for (const l of img.layers) layers.push({ ...(await blob(l.blob, l.mediaType)), id: hexOf(l.diffId).slice(0, 12) });
  let manifest: PushManifest;
  let configType: string = MediaType.dockerConfig;
  if (img.manifestDigest !== undefined) {
    const bytes = await readFile(files.blobPath(img.manifestDigest));
    manifest = { mediaType: storedManifestType(bytes), bytes };
    if (manifest.mediaType === MediaType.ociManifest) configType = MediaType.ociConfig;
  } else {
    manifest = schema2Manifest(await blob(img.id, configType), layers);
  }
  return { id: img.id, config: await blob(img.id, configType), layers, manifest, refs };
}
