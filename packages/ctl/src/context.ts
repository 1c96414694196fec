/**
 * Ctx is what every command handler receives: the process surface, a lazily opened daemon
 * session, and the exit code the run will end with.
 */
import { describeFailure } from "./errors.js";
import { Session, type Io } from "./session.js";

/** Ctx carries per-run state shared by command handlers. */
export class Ctx {
  exitCode = 0;
  private current: Session | undefined;

  constructor(
    readonly io: Io,
    private readonly host: () => string,
  ) {}

  /** session opens (once) the connection to the daemon chosen by -H / TSCTL_HOST. */
  session(): Session {
    return (this.current ??= new Session(this.host(), this.io));
  }

  /** hostName is the daemon address used for error messages. */
  hostName(): string {
    return this.current?.host ?? this.host();
  }

  /** report prints one failure line and marks the run failed, for commands that keep going. */
  report(err: unknown): void {
    const failure = describeFailure(err, this.hostName());
    this.io.err(failure.message + "\n");
    this.exitCode = Math.max(this.exitCode, failure.exitCode);
  }

  /** close releases the daemon connection. */
  close(): void {
    this.current?.close();
  }
}
