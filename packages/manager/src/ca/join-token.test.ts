import { isTsctlError } from "@tsctl/api";
import { describe, expect, it } from "vitest";
import { joinTokenMatches, makeJoinToken, parseJoinToken } from "./join-token.js";
import { caDigest, createRootCa } from "./root-ca.js";

const digest = "0" + "1a2b3c4d5e".repeat(4) + "f6g7h8i9j"; // 50 base36 characters, below 2^256

function expectInvalidToken(token: string): void {
  let err: unknown;
  try {
    parseJoinToken(token);
  } catch (e) {
    err = e;
  }
  expect(isTsctlError(err, "InvalidArgument"), `${token} was accepted`).toBe(true);
  expect((err as Error).message).toBe("invalid join token");
}

describe("join tokens", () => {
  it("round-trip the CA digest and carry a fresh 25-character secret", async () => {
    const ca = await createRootCa({ clusterId: "c" });
    const token = makeJoinToken(ca.digest);
    expect(token).toMatch(/^TSWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
    const parsed = parseJoinToken(token);
    expect(parsed.caDigest).toBe(caDigest(ca.certPem));
    expect(token).toBe(`TSWMTKN-1-${parsed.caDigest}-${parsed.secret}`);
    expect(parseJoinToken(makeJoinToken(ca.digest)).secret).not.toBe(parsed.secret);
  });

  it("pad short secrets with zeros", () => {
    // 1,000 secrets: about 3% of 128-bit values need fewer than 25 digits, so some will have been padded.
    const secrets = Array.from({ length: 1000 }, () => parseJoinToken(makeJoinToken(digest)).secret);
    expect(secrets.every((s) => s.length === 25)).toBe(true);
    expect(secrets.some((s) => s.startsWith("0"))).toBe(true);
    expect(new Set(secrets).size).toBe(1000);
  });

  it("reject malformed tokens", () => {
    const token = makeJoinToken(digest);
    const secret = token.slice(-25);
    expectInvalidToken("");
    expectInvalidToken(token.replace("TSWMTKN", "SWMTKN"));
    expectInvalidToken(token.replace("TSWMTKN-1", "TSWMTKN-2"));
    expectInvalidToken(token.slice(0, -1)); // short secret
    expectInvalidToken(token + "0"); // long secret
    expectInvalidToken(`TSWMTKN-1-${digest.slice(1)}-${secret}`); // short digest
    expectInvalidToken(token.replace(secret, secret.slice(0, -1) + "_")); // not base36
    expectInvalidToken(token.replace(secret, secret.slice(0, -1) + "A")); // upper case is not our base36
    expectInvalidToken(` ${token}`);
    expectInvalidToken(`${token}\n`);
    // Right shape, but more bits than a SHA-256 digest or a 128-bit secret can have.
    expectInvalidToken(`TSWMTKN-1-${"z".repeat(50)}-${secret}`);
    expectInvalidToken(`TSWMTKN-1-${digest}-${"z".repeat(25)}`);
  });

  it("expose a changed digest character, so a joining node refuses the CA", async () => {
    const ca = await createRootCa({ clusterId: "c" });
    const token = makeJoinToken(ca.digest);
    const i = 10 + 20;
    const tampered = token.slice(0, i) + (token[i] === "a" ? "b" : "a") + token.slice(i + 1);
    expect(parseJoinToken(tampered).caDigest).not.toBe(caDigest(ca.certPem));
    expect(joinTokenMatches(tampered, token)).toBe(false);
  });

  it("refuse to make a token from something that is not a CA digest", () => {
    expect(() => makeJoinToken("abc")).toThrow(/invalid CA digest/);
    expect(() => makeJoinToken(digest.toUpperCase())).toThrow(/invalid CA digest/);
  });
});

describe("joinTokenMatches", () => {
  it("is true only for the same token", () => {
    const a = makeJoinToken(digest);
    const b = makeJoinToken(digest);
    expect(joinTokenMatches(a, a)).toBe(true);
    expect(joinTokenMatches(`${a}`, a.slice(0))).toBe(true);
    expect(joinTokenMatches(b, a)).toBe(false);
    expect(joinTokenMatches(a.slice(0, -1) + (a.endsWith("0") ? "1" : "0"), a)).toBe(false);
    expect(joinTokenMatches(a.slice(0, -1), a)).toBe(false);
    expect(joinTokenMatches("", a)).toBe(false);
    expect(joinTokenMatches("", "")).toBe(true);
  });
});
