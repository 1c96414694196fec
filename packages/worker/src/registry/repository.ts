/**
 * Where a reference lives: the registry host, the repository path on it and the tag or digest,
 * following Docker's rules (no host, or docker.io, means Docker Hub, whose API is at
 * registry-1.docker.io and whose official images sit under library/).
 */
import { formatReference, parseReference } from "../images/reference.js";

/** RemoteRef is a reference resolved to a registry endpoint. */
export interface RemoteRef {
  /** Host as credentials, CAs and insecure lists name it ("docker.io", "127.0.0.1:5000"). */
  host: string;
  /** Host the API is reached at. */
  endpoint: string;
  /** Repository path on the registry ("library/busybox"). */
  repository: string;
  /** Tag or digest, as used in /v2/<repository>/manifests/<reference>. */
  reference: string;
  tag?: string;
  digest?: string;
  /** Familiar name ("busybox", "127.0.0.1:5000/web"). */
  name: string;
  /** Normalised reference for messages and refs.json ("busybox:latest"). */
  display: string;
}

const DOCKER_HUB = "docker.io";

/** toRemote parses input with Docker's grammar (InvalidArgument "invalid reference format" otherwise). */
export function toRemote(input: string): RemoteRef {
  const ref = parseReference(input);
  const parts = ref.name.split("/");
  const first = parts[0] ?? "";
  const hasHost = parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
  const host = hasHost ? first : DOCKER_HUB;
  let repository = hasHost ? parts.slice(1).join("/") : ref.name;
  if (!hasHost && !repository.includes("/")) repository = `library/${repository}`;
  const out: RemoteRef = {
    host,
    endpoint: host === DOCKER_HUB ? "registry-1.docker.io" : host,
    repository,
    reference: ref.digest ?? ref.tag ?? "latest",
    name: ref.name,
    display: formatReference(ref),
  };
  if (ref.digest !== undefined) out.digest = ref.digest;
  else out.tag = ref.tag ?? "latest";
  return out;
}
