/**
 * Removal rules, kept pure so they can be tested without a store: which references `rmi`
 * untags and whether the image itself goes, with Docker's conflict messages.
 */
import { FailedPreconditionError } from "@tsctl/api";
import { isDigestReference, repositoryOf } from "./reference.js";
import { shortId } from "./image-meta.js";

/** RemovalInput describes one `rmi` request against a resolved image. */
export interface RemovalInput {
  /** What the user typed, for messages. */
  input: string;
  /** The refs.json key the input named, or undefined when it named an id or id prefix. */
  key: string | undefined;
  imageId: string;
  /** Every refs.json key pointing at the image. */
  refs: string[];
  force: boolean;
  inUse: boolean;
}

/** RemovalPlan is what to do: untag these keys, then delete the image when asked. */
export interface RemovalPlan {
  untag: string[];
  deleteImage: boolean;
}

/**
 * planRemoval applies Docker's rules. By reference: untag it; the image goes with its last tag.
 * By id: every reference goes, but several repositories need force. An image a container uses is
 * never deleted: with force its references go and it stays, untagged, until the container is gone
 * (Docker refuses outright for a running container; a boolean cannot tell running from stopped).
 */
export function planRemoval(r: RemovalInput): RemovalPlan {
  const short = shortId(r.imageId);
  if (r.key !== undefined) {
    const otherTags = r.refs.filter((k) => k !== r.key && !isDigestReference(k));
    if (otherTags.length > 0) return { untag: [r.key], deleteImage: false };
    if (r.inUse && !r.force) {
      throw new FailedPreconditionError(
        `conflict: unable to remove repository reference "${r.input}" (must force) - a container is using its referenced image ${short}`,
      );
    }
    // With its last tag gone, digest references would only keep a nameless image alive.
    return { untag: [r.key, ...r.refs.filter((k) => k !== r.key)], deleteImage: !r.inUse };
  }
  const repos = new Set(r.refs.map(repositoryOf));
  if (repos.size > 1 && !r.force) {
    throw new FailedPreconditionError(
      `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`,
    );
  }
  if (r.inUse && !r.force) {
    throw new FailedPreconditionError(`conflict: unable to delete ${short} (must be forced) - image is being used by a container`);
  }
  return { untag: [...r.refs], deleteImage: !r.inUse };
}
