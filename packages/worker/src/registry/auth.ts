/**
 * Registry authentication (Docker's token authentication spec): the first 401 names the scheme in
 * WWW-Authenticate; Basic sends the host's credentials, Bearer fetches a token from the realm for
 * the service and scope (with the credentials, if any) and caches it per host and scope until it
 * expires. Later requests to the host authenticate up front, so a pull costs one challenge.
 */
import { PermissionDeniedError, UnavailableError } from "@tsctl/api";
import { parseChallenges, type Challenge } from "./challenge.js";
import { readBody, send, type HostTrust } from "./transport.js";

type Credentials = (host: string) => { username: string; password: string } | undefined;

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Tokens are used until a little before they expire, so one never expires on the wire. */
const EXPIRY_MARGIN_MS = 10_000;
const DEFAULT_TOKEN_SECONDS = 60;

/** Authorizer holds the challenges seen per host and the tokens fetched per host and scope. */
export class Authorizer {
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, Promise<CachedToken>>();

  constructor(
    private readonly trust: HostTrust,
    private readonly credentials: Credentials,
    private readonly now: () => number = Date.now,
  ) {}

  /** header returns the Authorization value for a request to host needing scope, if any is known. */
  async header(host: string, scope: string, signal?: AbortSignal): Promise<string | undefined> {
    const c = this.challenges.get(host);
    if (c === undefined) return undefined;
    const creds = this.credentials(host);
    if (c.scheme === "basic") {
      return creds === undefined ? undefined : `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
    }
    const key = `${host} ${scope}`;
    const pending = this.tokens.get(key);
    const cached = pending === undefined ? undefined : await pending.catch(() => undefined);
    if (cached !== undefined && cached.expiresAt - EXPIRY_MARGIN_MS > this.now()) return `Bearer ${cached.token}`;
    const p = this.fetchToken(c, scope, creds, signal);
    this.tokens.set(key, p);
    p.catch(() => this.tokens.delete(key));
    return `Bearer ${(await p).token}`;
  }

  /**
   * challenged records a 401's WWW-Authenticate for host; it returns true when retrying can help
   * (a scheme was learnt, or a cached token is dropped), false when the same request would fail again.
   */
  challenged(host: string, scope: string, wwwAuthenticate: string | undefined, hadAuth: boolean): boolean {
    const all = parseChallenges(wwwAuthenticate ?? "");
    const c = all.find((x) => x.scheme === "bearer") ?? all.find((x) => x.scheme === "basic");
    if (c === undefined) return false;
    const known = this.challenges.get(host);
    this.challenges.set(host, c);
    this.tokens.delete(`${host} ${scope}`);
    if (!hadAuth) return c.scheme === "bearer" || this.credentials(host) !== undefined;
    // A refused token may just have expired early; refused credentials will be refused again.
    return known?.scheme !== c.scheme;
  }

  private async fetchToken(
    c: Challenge,
    scope: string,
    creds: ReturnType<Credentials>,
    signal?: AbortSignal,
  ): Promise<CachedToken> {
    const realm = c.params.realm;
    if (realm === undefined) throw new UnavailableError("registry sent a Bearer challenge without a realm");
    const url = new URL(realm);
    if (c.params.service !== undefined) url.searchParams.set("service", c.params.service);
    // Several scopes (a mount also reads the source repository) are separate parameters.
    for (const s of scope.split(" ")) if (s !== "") url.searchParams.append("scope", s);
    const headers: Record<string, string> = { accept: "application/json" };
    if (creds !== undefined) headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
    const started = this.now();
    let res;
    try {
      res = await send(this.trust, url, { method: "GET", headers, signal });
    } catch (err) {
      throw new UnavailableError(`cannot get a token from ${url.origin}: ${(err as Error).message}`, err);
    }
    const status = res.statusCode ?? 0;
    const body = await readBody(res, 1 << 20, "token response");
    if (status === 401 || status === 403) throw new PermissionDeniedError("unauthorized: incorrect username or password");
    if (status !== 200) throw new UnavailableError(`token server ${url.origin} answered HTTP ${status}`);
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      doc = JSON.parse(body.toString("utf8")) as typeof doc;
    } catch {
      throw new UnavailableError(`token server ${url.origin} sent invalid JSON`);
    }
    const token = typeof doc.token === "string" && doc.token !== "" ? doc.token : doc.access_token;
    if (typeof token !== "string" || token === "") throw new UnavailableError(`token server ${url.origin} sent no token`);
    const seconds = typeof doc.expires_in === "number" && doc.expires_in > 0 ? doc.expires_in : DEFAULT_TOKEN_SECONDS;
    return { token, expiresAt: started + seconds * 1000 };
  }
}
