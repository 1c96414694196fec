// @ts-check
/**
 * spawner-main is the spawner helper: a small Node process that starts processes on behalf of tsd,
 * so the fork of each child copies this ~40 MB process instead of tsd, and happens off tsd's event
 * loop. It is plain JavaScript on purpose: it runs as is from src/ under vitest and from bin/tsd
 * after a build, with no compile or copy step (see helper-path.ts).
 *
 * Protocol (see protocol.ts): newline-delimited JSON. stdin carries requests
 *   {id, op: "run", file, args}                      run to completion, capture output
 *   {id, op: "detached", file, args, env, outPath}   new session, fd 3 = sync pipe, read one message
 *   {id, op: "cancel"}                               kill a run (SIGTERM) / stop reading a sync pipe
 * and stdout carries {ready: true, pid} once, then one answer per request:
 *   {id, code, signal, stdout, stderr} (output base64) | {id, text} | {id, error: {code, message}}.
 * stdin EOF means tsd is gone: exit at once. Children are never killed on exit: a detached
 * conmon must outlive both of us, and a half-run runc finishes as it would have under tsd.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";

/** @type {Map<number, () => void>} cancel functions of requests still running, by id */
const active = new Map();

/** send writes one answer line; stdout to a pipe is synchronous on Linux, so lines never interleave. */
function send(/** @type {object} */ msg) {
  process.stdout.write(JSON.stringify(msg) + "\n");
}

/** errorInfo keeps what the client needs to rebuild the error (code ENOENT → Unavailable). */
function errorInfo(/** @type {unknown} */ e) {
  const err = /** @type {NodeJS.ErrnoException} */ (e);
  return { code: typeof err?.code === "string" ? err.code : undefined, message: String(err?.message ?? e) };
}

/** once wraps an answer so that error-then-close (or data-then-end) answers a request only once. */
function once(/** @type {number} */ id) {
  let done = false;
  return (/** @type {object} */ msg) => {
    if (done) return;
    done = true;
    active.delete(id);
    send({ id, ...msg });
  };
}

/** run starts file with captured output and answers with its exit once its pipes are closed. */
function run(/** @type {number} */ id, /** @type {string} */ file, /** @type {string[]} */ args) {
  const answer = once(id);
  const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
  /** @type {Buffer[]} */ const out = [];
  /** @type {Buffer[]} */ const err = [];
  child.stdout.on("data", (/** @type {Buffer} */ b) => out.push(b));
  child.stderr.on("data", (/** @type {Buffer} */ b) => err.push(b));
  child.on("error", (e) => answer({ error: errorInfo(e) }));
  child.on("close", (code, signal) =>
    answer({ code, signal, stdout: Buffer.concat(out).toString("base64"), stderr: Buffer.concat(err).toString("base64") }),
  );
  active.set(id, () => child.kill("SIGTERM"));
}

/**
 * detached starts file in its own session with stdout/stderr appended to outPath and fd 3 a pipe
 * (the OCI sync pipe), and answers with what arrives on it up to the first newline, or at EOF.
 * The daemonised child keeps the pipe open for its lifetime, so we close our end after one message.
 */
function detached(
  /** @type {number} */ id,
  /** @type {string} */ file,
  /** @type {string[]} */ args,
  /** @type {Record<string, string>} */ env,
  /** @type {string} */ outPath,
) {
  const answer = once(id);
  const out = openSync(outPath, "w");
  let child;
  try {
    child = spawn(file, args, { stdio: ["ignore", out, out, "pipe"], env: { ...process.env, ...env }, detached: true });
  } finally {
    closeSync(out);
  }
  const sync = /** @type {import("node:stream").Readable | undefined} */ (child.stdio[3]);
  let text = "";
  const finish = (/** @type {object} */ msg) => {
    sync?.destroy();
    answer(msg);
  };
  child.on("error", (e) => finish({ error: errorInfo(e) }));
  sync?.on("data", (/** @type {Buffer} */ d) => {
    text += d.toString("utf8");
    if (text.includes("\n")) finish({ text });
  });
  sync?.on("end", () => finish({ text }));
  sync?.on("error", (e) => finish({ error: errorInfo(e) }));
  active.set(id, () => {
    sync?.destroy();
    active.delete(id);
  });
}

/** handle dispatches one request line; a bad request is answered, never fatal. */
function handle(/** @type {string} */ line) {
  /** @type {{id: number, op: string, file?: string, args?: string[], env?: Record<string, string>, outPath?: string}} */
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    return;
  }
  const id = req.id;
  try {
    if (req.op === "cancel") active.get(id)?.();
    else if (req.op === "run") run(id, String(req.file), req.args ?? []);
    else if (req.op === "detached") detached(id, String(req.file), req.args ?? [], req.env ?? {}, String(req.outPath));
    else send({ id, error: { message: `unknown op ${req.op}` } });
  } catch (e) {
    // spawn and openSync throw synchronously for some errors (bad arguments, missing directory).
    active.delete(id);
    send({ id, error: errorInfo(e) });
  }
}

let pending = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (/** @type {string} */ chunk) => {
  pending += chunk;
  let nl;
  while ((nl = pending.indexOf("\n")) >= 0) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    if (line !== "") handle(line);
  }
});
// tsd closed our stdin (it exited, crashed or disposed us): nothing more will be asked.
process.stdin.on("end", () => process.exit(0));
process.stdout.on("error", () => process.exit(0));
send({ ready: true, pid: process.pid });
