// tsctl: talking to a host's tsd from outside the host, over its unix socket (no namespace needed),
// and reading its log for error messages.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hostDir, sockOf, tsctlBin } from "./context.mjs";

/** @typedef {{ code: number, stdout: string, stderr: string }} Result */

/** run runs a command to completion and never throws. @returns {Promise<Result>} */
export function run(file, args, opts = {}) {
  return new Promise((res) => {
    execFile(file, args, { timeout: 30_000, maxBuffer: 16 * 1024 * 1024, ...opts }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** tsctl runs the CLI against the host's tsd socket. @returns {Promise<Result>} */
export function tsctl(host, ...args) {
  return tsctlWith({}, host, ...args);
}

/** tsctlWith is tsctl with execFile options (e.g. a longer timeout). @returns {Promise<Result>} */
export function tsctlWith(opts, host, ...args) {
  return run(process.execPath, [tsctlBin, "-H", `unix://${sockOf(host)}`, ...args], opts);
}

/** logTail is the end of the host's tsd log, for error messages. */
export function logTail(host, chars = 3000) {
  try {
    return readFileSync(join(hostDir(host), "tsd.log"), "utf8").slice(-chars);
  } catch {
    return "(no tsd.log)";
  }
}
