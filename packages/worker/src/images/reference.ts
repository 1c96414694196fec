/**
 * Image references ("busybox", "registry.local:5000/web:1", "busybox@sha256:…"), parsed with
 * Docker's grammar and normalised to Docker's familiar form so refs.json keys match what users
 * type and what `docker images` shows.
 */
import { InvalidArgumentError } from "@tsctl/api";

/** ImageReference is a parsed reference; `name` is familiar ("busybox", not docker.io/library/busybox). */
export interface ImageReference {
  name: string;
  tag?: string;
  digest?: string;
}

const DEFAULT_DOMAINS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-f0-9]{32,}$/;
const MAX_NAME = 255;

/** parseReference parses and normalises a reference; with no tag and no digest the tag is "latest". */
export function parseReference(input: string): ImageReference {
  const fail = (why: string): never => {
    throw new InvalidArgumentError(`invalid reference format: ${why}: "${input}"`);
  };
  if (input === "") fail("empty reference");
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) fail("invalid digest");
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  // A colon after the last slash separates a tag; before it, it belongs to a registry port.
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail("invalid tag");
  }
  const parts = rest.split("/");
  let domain: string | undefined;
  const first = parts[0] ?? "";
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    domain = parts.shift();
    if (domain === undefined || !DOMAIN.test(domain)) fail("invalid registry host");
  }
  for (const p of parts) {
    if (p !== p.toLowerCase()) fail("repository name must be lowercase");
    if (!PATH_COMPONENT.test(p)) fail("invalid repository name");
  }
  let path = parts.join("/");
  if (domain === undefined || DEFAULT_DOMAINS.has(domain)) {
    // Docker Hub official images live under library/; Docker hides both the host and library/.
    if (path.startsWith("library/") && path.split("/").length === 2) path = path.slice("library/".length);
    domain = undefined;
  }
  const name = domain === undefined ? path : `${domain}/${path}`;
  if (name.length > MAX_NAME) fail("repository name too long");
  if (digest !== undefined) return { name, digest };
  return { name, tag: tag ?? "latest" };
}

/** formatReference renders the key used in refs.json: "name:tag" or "name@digest". */
export function formatReference(ref: ImageReference): string {
  return ref.digest !== undefined ? `${ref.name}@${ref.digest}` : `${ref.name}:${ref.tag ?? "latest"}`;
}

/** normalizeReference is formatReference(parseReference(input)). */
export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

/** tryNormalizeReference returns undefined instead of throwing, for look-ups that fall back to ids. */
export function tryNormalizeReference(input: string): string | undefined {
  try {
    return normalizeReference(input);
  } catch {
    return undefined;
  }
}

/** repositoryOf returns the name part of a refs.json key ("busybox:latest" → "busybox"). */
export function repositoryOf(key: string): string {
  const at = key.indexOf("@");
  if (at >= 0) return key.slice(0, at);
  return key.slice(0, key.lastIndexOf(":"));
}

/** isDigestReference tells whether a refs.json key is a "name@sha256:…" entry. */
export function isDigestReference(key: string): boolean {
  return key.includes("@");
}
