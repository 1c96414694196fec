/**
 * Entry point of the `tsctl` binary: real process streams in, exit code out. Output is flushed
 * before exiting so piped output is never cut short.
 */
import { run } from "./cli.js";
import type { Io } from "./session.js";

const io: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  outBytes: (data) => process.stdout.write(data),
  errBytes: (data) => process.stderr.write(data),
  isTty: process.stdout.isTTY === true,
  stdinIsTty: process.stdin.isTTY === true,
  stdin: process.stdin,
  env: process.env,
  now: () => Date.now(),
};

const code = await run(process.argv.slice(2), io);
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
