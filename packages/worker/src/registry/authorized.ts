/**
 * authorizedSend is the one way pulls and pushes talk to a registry's API: it attaches what the
 * scope's credentials call for (Basic, or a Bearer token it fetches), and answers the first 401
 * challenge once, then gives up. Transport failures become one line naming the image.
 */
import type { IncomingMessage } from "node:http";
import { PermissionDeniedError, TsctlError, UnavailableError } from "@tsctl/api";
import type { Authorizer } from "./auth.js";
import type { RemoteRef } from "./repository.js";
import { send, type HostTrust, type SendOptions } from "./transport.js";

export interface Caller {
  trust: HostTrust;
  auth: Authorizer;
  /** "pulling" or "pushing": the verb of error messages. */
  action: "pulling" | "pushing";
  /** Pulls add the image to a refused credential's message; login keeps the registry's words. */
  nameDenials: boolean;
}

export async function authorizedSend(c: Caller, r: RemoteRef, url: URL, scope: string, opts: SendOptions): Promise<IncomingMessage> {
  for (let attempt = 0; ; attempt++) {
    let auth: string | undefined;
    try {
      auth = await c.auth.header(r.endpoint, scope, opts.signal);
    } catch (err) {
      if (err instanceof PermissionDeniedError && c.nameDenials) throw new PermissionDeniedError(`${err.message} for ${r.display}`);
      throw transportError(c.action, r, err);
    }
    let res: IncomingMessage;
    try {
      res = await send(c.trust, url, { ...opts, headers: { ...opts.headers, ...(auth === undefined ? {} : { authorization: auth }) } });
    } catch (err) {
      throw transportError(c.action, r, err);
    }
    if (res.statusCode === 401 && attempt === 0 && c.auth.challenged(r.endpoint, scope, res.headers["www-authenticate"], auth !== undefined)) {
      res.resume();
      continue;
    }
    return res;
  }
}

/** transportError turns a network or TLS failure into a one-line Unavailable error naming the image. */
export function transportError(action: Caller["action"], r: RemoteRef, err: unknown): Error {
  if (err instanceof TsctlError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.name === "AbortError") return e;
  const msg = String(e?.message ?? err).split("\n")[0] ?? "";
  return new UnavailableError(`error ${action} ${r.display}: ${r.endpoint}: ${msg}`, err);
}
