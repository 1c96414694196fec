/**
 * The CLI checks of `login`, `logout` and `image save` that never reach a daemon (the host below
 * does not exist, so a command that tried would fail differently).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../cli.js";
import type { Io } from "../session.js";

const home = mkdtempSync(join(tmpdir(), "tsctl-login-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

async function tsctl(opts: { isTty?: boolean; stdinIsTty?: boolean }, ...args: string[]) {
  let out = "";
  let err = "";
  const io: Io = {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    outBytes: (b) => void (out += Buffer.from(b).toString()),
    errBytes: (b) => void (err += Buffer.from(b).toString()),
    isTty: opts.isTty ?? false,
    stdinIsTty: opts.stdinIsTty ?? false,
    stdin: new PassThrough(),
    env: { TSCTL_HOST: `unix://${join(home, "none.sock")}`, HOME: home },
    now: () => 0,
  };
  return { code: await run(args, io), out, err };
}

describe("login / logout / save without a daemon", () => {
  it("refuses an interactive login without a terminal, and conflicting password flags", async () => {
    expect(await tsctl({}, "login", "reg:5000")).toEqual({ code: 1, out: "", err: "Error: Cannot perform an interactive login from a non TTY device\n" });
    expect((await tsctl({}, "login", "-p", "x", "--password-stdin", "reg:5000")).err).toBe("--password and --password-stdin are mutually exclusive\n");
    expect((await tsctl({}, "login", "--password-stdin", "reg:5000")).err).toBe("Must provide --username with --password-stdin\n");
  });

  it("logout of a registry never logged in to says so", async () => {
    expect(await tsctl({}, "logout", "reg:5000")).toEqual({ code: 0, out: "Not logged in to reg:5000\n", err: "" });
  });

  it("refuses to write an archive to a terminal", async () => {
    expect(await tsctl({ isTty: true }, "image", "save", "busybox")).toEqual({
      code: 1,
      out: "",
      err: "cowardly refusing to save to a terminal. Use the -o flag or redirect\n",
    });
  });
});
