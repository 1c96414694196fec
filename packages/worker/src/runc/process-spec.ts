import { InvalidArgumentError, type ContainerSpec } from "@tsctl/api";
import type { ImageConfig } from "../images/types.js";

/** DEFAULT_PATH is Docker's PATH for containers whose image sets none. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * processArgs applies Docker's rule: spec.command replaces the image ENTRYPOINT and, when it is
 * given, the image CMD is dropped too (only spec.args is used); otherwise CMD is spec.args or the
 * image's Cmd. The process runs ENTRYPOINT + CMD.
 */
export function processArgs(spec: Pick<ContainerSpec, "command" | "args">, image: ImageConfig): string[] {
  let entrypoint: string[];
  let cmd: string[];
  if (spec.command.length > 0) {
    entrypoint = spec.command;
    cmd = spec.args;
  } else {
    entrypoint = image.Entrypoint ?? [];
    cmd = spec.args.length > 0 ? spec.args : (image.Cmd ?? []);
  }
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw new InvalidArgumentError("no command specified");
  return args;
}

function envKey(kv: string): string {
  const eq = kv.indexOf("=");
  return eq < 0 ? kv : kv.slice(0, eq);
}

/**
 * mergeEnv layers environment lists like Docker: a later entry replaces an earlier one with the
 * same key in place, new keys are appended; PATH defaults when nobody set it and HOSTNAME is set
 * first so the image or spec can still override it.
 */
export function mergeEnv(hostname: string, ...lists: (readonly string[] | null | undefined)[]): string[] {
  const out: string[] = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${hostname}`];
  const index = new Map<string, number>(out.map((kv, i) => [envKey(kv), i]));
  for (const list of lists) {
    for (const kv of list ?? []) {
      // "KEY" without "=" means "take it from the client's environment" in Docker; the client
      // resolves that before it reaches us, so a bare key here carries no value and is skipped.
      if (!kv.includes("=")) continue;
      const key = envKey(kv);
      const at = index.get(key);
      if (at === undefined) {
        index.set(key, out.length);
        out.push(kv);
      } else {
        out[at] = kv;
      }
    }
  }
  return out;
}
