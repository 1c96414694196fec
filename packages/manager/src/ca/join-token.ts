import { randomBytes, timingSafeEqual } from "node:crypto";
import { InvalidArgumentError } from "@tsctl/api";
import { caDigestLength } from "./root-ca.js";

/**
 * Join tokens have the form "TSWMTKN-1-<CA digest>-<secret>": the 50-character base36 SHA-256
 * of the cluster CA certificate, which lets a joining node check the CA it is handed before
 * trusting it, and 128 random bits as 25 base36 characters, which the manager checks before
 * issuing a certificate. One token per role; rotating a role's secret invalidates its tokens.
 */
const prefix = "TSWMTKN";
const version = "1";
const secretLength = 25;
const tokenPattern = new RegExp(`^${prefix}-${version}-([0-9a-z]{${caDigestLength}})-([0-9a-z]{${secretLength}})$`);
const maxDigest = 1n << 256n;
const maxSecret = 1n << 128n;

/** makeJoinToken makes a token with a fresh 128-bit secret for the CA with the given digest. */
export function makeJoinToken(caDigestValue: string): string {
  if (!/^[0-9a-z]+$/.test(caDigestValue) || caDigestValue.length !== caDigestLength) {
    throw new InvalidArgumentError("invalid CA digest");
  }
  const secret = BigInt(`0x${randomBytes(16).toString("hex")}`).toString(36).padStart(secretLength, "0");
  return `${prefix}-${version}-${caDigestValue}-${secret}`;
}

/**
 * parseJoinToken splits a token into its CA digest and secret. Anything malformed (prefix,
 * version, lengths, characters, or a value too large for its bits) throws
 * InvalidArgumentError("invalid join token").
 */
export function parseJoinToken(token: string): { caDigest: string; secret: string } {
  const m = tokenPattern.exec(token);
  if (m === null) throw new InvalidArgumentError("invalid join token");
  const [, digest, secret] = m as unknown as [string, string, string];
  if (base36(digest) >= maxDigest || base36(secret) >= maxSecret) throw new InvalidArgumentError("invalid join token");
  return { caDigest: digest, secret };
}

function base36(s: string): bigint {
  let n = 0n;
  for (const c of s) n = n * 36n + BigInt(Number.parseInt(c, 36));
  return n;
}

/**
 * joinTokenMatches compares a presented token with the expected one in constant time (for tokens
 * of equal length; a length mismatch returns false at once, and says nothing a well-formed token
 * would not, since every valid token has the same length).
 */
export function joinTokenMatches(presented: string, expected: string): boolean {
  const a = Buffer.from(presented, "utf8");
  const b = Buffer.from(expected, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}
