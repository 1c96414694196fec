/**
 * Writing credentials into tsctl's own config.json (~/.tsctl/config.json) in Docker's format:
 * `{"auths": {"<server>": {"auth": base64("user:password")}}}`, other keys kept as they were.
 * The file is written whole to a temp file with mode 0600 and renamed over the old one, so a
 * crash never leaves half a config and the password is never readable by others.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { dockerHubKey } from "./credentials.js";

/** loginKey is the config.json key for what `login`/`logout` were given ("" means Docker Hub). */
export function loginKey(server: string | undefined): string {
  const s = (server ?? "").trim();
  if (s === "" || /^(https?:\/\/)?(index\.|registry-1\.)?docker\.io(\/.*)?$/.test(s)) return dockerHubKey;
  return s.replace(/^[a-z]+:\/\//, "").replace(/\/.*$/, "");
}

type ConfigDoc = { auths?: Record<string, Record<string, unknown>> } & Record<string, unknown>;

function readDoc(path: string): ConfigDoc {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw err;
  }
  const doc = JSON.parse(text) as unknown;
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new Error(`${path}: not a JSON object`);
  return doc as ConfigDoc;
}

function writeDoc(path: string, doc: ConfigDoc): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(doc, null, "\t")}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** storeAuth records username/password for key in the config at path. */
export function storeAuth(path: string, key: string, username: string, password: string): void {
  const doc = readDoc(path);
  doc.auths = { ...doc.auths, [key]: { auth: Buffer.from(`${username}:${password}`).toString("base64") } };
  writeDoc(path, doc);
}

/** removeAuth drops key's credentials; false when there were none. */
export function removeAuth(path: string, key: string): boolean {
  const doc = readDoc(path);
  if (doc.auths?.[key] === undefined) return false;
  delete doc.auths[key];
  writeDoc(path, doc);
  return true;
}
