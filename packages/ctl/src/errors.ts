/**
 * CLI errors and the one place that turns any failure into the single stderr line the user sees.
 * Commands throw; only `describeFailure` decides wording, so Docker-compatible messages stay
 * consistent across every command.
 */
import { TsctlError } from "@tsctl/api";
import { CommanderError } from "commander";

/** UsageError is a mistake in how the command was invoked; its message is printed verbatim. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** FlagValueError is a flag value rejected before anything is sent to the daemon. */
export class FlagValueError extends Error {
  override name = "FlagValueError";
  constructor(
    readonly flag: string,
    readonly value: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** NoSuchObjectError is a lookup by name/id that found nothing (Docker prints "No such …"). */
export class NoSuchObjectError extends Error {
  override name = "NoSuchObjectError";
  constructor(
    readonly kind: string,
    readonly ref: string,
  ) {
    super(`no such ${kind}: ${ref}`);
  }
}

/** DaemonUnreachableError means no connection to tsd could be made at all. */
export class DaemonUnreachableError extends Error {
  override name = "DaemonUnreachableError";
  constructor(readonly host: string, cause?: unknown) {
    super(`cannot connect to ${host}`, { cause });
  }
}

/** Failure is what the CLI prints (one line, no trailing newline) and the exit code it uses. */
export interface Failure {
  message: string;
  exitCode: number;
}

// Transport-level failures: grpc-js reports these as UNAVAILABLE with the socket error inside.
const unreachablePattern = /ECONNREFUSED|ENOENT|EACCES|No connection established|Failed to connect|connect ECONN/i;

/**
 * describeFailure maps any thrown value to the line printed on stderr and the exit code.
 * This is the only function in ctl that chooses error wording.
 */
export function describeFailure(err: unknown, host: string): Failure {
  const fail = (message: string): Failure => ({ message, exitCode: 1 });
  if (err instanceof DaemonUnreachableError) return fail(unreachable(err.host));
  if (err instanceof FlagValueError) return fail(`invalid argument "${err.value}" for "${err.flag}" flag: ${err.reason}`);
  if (err instanceof UsageError) return fail(err.message);
  if (err instanceof NoSuchObjectError) return fail(`Error: No such ${err.kind}: ${err.ref}`);
  if (err instanceof CommanderError) return fail(commanderMessage(err));
  if (err instanceof TsctlError) {
    if (err.code === "Unavailable" && unreachablePattern.test(err.message)) return fail(unreachable(host));
    return fail(`Error response from daemon: ${err.message}`);
  }
  const sys = err as NodeJS.ErrnoException;
  if (sys && typeof sys.code === "string" && sys.syscall) {
    if (sys.code === "ENOENT") return fail(`open ${sys.path ?? ""}: no such file or directory`);
    if (sys.code === "EACCES") return fail(`open ${sys.path ?? ""}: permission denied`);
  }
  return fail(`Error: ${err instanceof Error ? err.message : String(err)}`);
}

function unreachable(host: string): string {
  return `Cannot connect to the tsd daemon at ${host}. Is the tsd daemon running?`;
}

// Commander's messages start with "error: "; Docker's flag errors read "unknown flag: --x".
function commanderMessage(err: CommanderError): string {
  const msg = err.message.replace(/^error: /, "");
  const unknown = /unknown option '([^']+)'/.exec(msg);
  if (unknown) return `unknown flag: ${unknown[1]}`;
  return msg;
}
