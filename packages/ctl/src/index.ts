/**
 * @tsctl/ctl is the `tsctl` command-line client. It owns argument parsing, output formatting and
 * the mapping of errors to one-line messages; it never holds cluster state of its own.
 */
export { run, buildProgram } from "./cli.js";
export { describeFailure, UsageError, FlagValueError, NoSuchObjectError, DaemonUnreachableError } from "./errors.js";
export { Session, resolveHost, defaultHost, type Io } from "./session.js";
