/**
 * Registry credentials as Docker keeps them: `auths` in a config.json, each entry's `auth` being
 * base64("user:password"). tsctl reads its own ~/.tsctl/config.json first, then Docker's
 * ($DOCKER_CONFIG/config.json or ~/.docker/config.json), so a machine already logged in with
 * docker needs no second login.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export interface Credentials {
  username: string;
  password: string;
}

/** Docker Hub's key in config.json; other registries are keyed by host[:port]. */
export const dockerHubKey = "https://index.docker.io/v1/";

/** registryHost is the registry a reference names: "docker.io" unless its first component is a host. */
export function registryHost(ref: string): string {
  const first = ref.split("/")[0] ?? "";
  return ref.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost") ? first : "docker.io";
}

export function configPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env["HOME"] ?? homedir();
  return [join(home, ".tsctl", "config.json"), join(env["DOCKER_CONFIG"] ?? join(home, ".docker"), "config.json")];
}

/** credentialsFor finds stored credentials for the registry of ref, if any. */
export function credentialsFor(ref: string, paths = configPaths()): Credentials | undefined {
  const host = registryHost(ref);
  const keys = host === "docker.io" ? [dockerHubKey, "docker.io", "index.docker.io"] : [host, `https://${host}`, `http://${host}`];
  for (const path of paths) {
    let auths: Record<string, { auth?: string; username?: string; password?: string }> | undefined;
    try {
      auths = (JSON.parse(readFileSync(path, "utf8")) as { auths?: typeof auths }).auths;
    } catch {
      continue;
    }
    for (const k of keys) {
      const entry = auths?.[k];
      if (!entry) continue;
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
        const i = decoded.indexOf(":");
        if (i > 0) return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
      }
      if (entry.username && entry.password) return { username: entry.username, password: entry.password };
    }
  }
  return undefined;
}
