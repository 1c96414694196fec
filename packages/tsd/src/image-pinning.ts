/**
 * pinImage is Docker's --resolve-image for service specs: the leader asks the image's registry
 * which digest the tag names now and records `name:tag@sha256:…`, so every node runs the same
 * image even if the tag moves later. An image that only exists in this node's store (loaded from
 * an archive, never pulled) is left as it is, and so is one whose registry cannot be reached:
 * Docker then warns that nodes may run different versions, and so do we.
 */
import type { ServiceSpec } from "@tsctl/api";
import type { ImageStore } from "@tsctl/worker";
import type { Credentials, ImagePuller } from "./image-puller.js";

const resolveTimeoutMs = 10_000;

export async function pinImage(
  spec: ServiceSpec | undefined,
  deps: { images: ImageStore; puller: ImagePuller },
  opts: { noResolve: boolean; credentials?: Credentials },
): Promise<string[]> {
  const container = spec?.task?.container;
  const image = container?.image;
  if (!container || !image || opts.noResolve || image.includes("@")) return [];
  const local = await deps.images.inspect(image).catch(() => undefined);
  if (local && local.repoDigests.length === 0) return [];
  try {
    const digest = await deps.puller.resolveDigest(image, opts.credentials, AbortSignal.timeout(resolveTimeoutMs));
    container.image = `${image}@${digest}`;
    return [];
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return [
      `image ${image} could not be accessed on a registry to record its digest (${why}). Each node will access ${image} independently, possibly leading to different nodes running different versions of the image.`,
    ];
  }
}
