/**
 * Errors with stable codes, shared by every package. Logic throws these; the gRPC boundary maps
 * them to status codes in `toGrpcStatus` (grpc.ts) and the CLI turns them back into one line.
 */
export type ErrorCode =
  | "NotFound"
  | "AlreadyExists"
  | "InvalidArgument"
  | "FailedPrecondition"
  | "Unavailable"
  | "PermissionDenied"
  | "Internal";

/** TsctlError is the base of every error the product raises on purpose. */
export class TsctlError extends Error {
  readonly code: ErrorCode;
  /** Temporary errors may succeed when retried (no leader yet, etcd unreachable). */
  readonly temporary: boolean;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; temporary?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = code;
    this.code = code;
    this.temporary = options?.temporary ?? code === "Unavailable";
  }
}

export class NotFoundError extends TsctlError {
  constructor(message: string) {
    super("NotFound", message);
  }
}

export class AlreadyExistsError extends TsctlError {
  constructor(message: string) {
    super("AlreadyExists", message);
  }
}

export class InvalidArgumentError extends TsctlError {
  constructor(message: string) {
    super("InvalidArgument", message);
  }
}

export class FailedPreconditionError extends TsctlError {
  constructor(message: string) {
    super("FailedPrecondition", message);
  }
}

export class UnavailableError extends TsctlError {
  constructor(message: string, cause?: unknown) {
    super("Unavailable", message, { cause, temporary: true });
  }
}

/** PermissionDeniedError: the caller's certificate or token does not allow the call. */
export class PermissionDeniedError extends TsctlError {
  constructor(message: string) {
    super("PermissionDenied", message);
  }
}

/** UpdateOutOfSequenceError is raised when a compare-and-swap finds a newer version stored. */
export class UpdateOutOfSequenceError extends FailedPreconditionError {
  constructor() {
    super("update out of sequence");
  }
}

/** NotManagerError uses Docker's wording so scripts written for Docker keep matching. */
export class NotManagerError extends FailedPreconditionError {
  constructor() {
    super(
      'This node is not a swarm manager. Use "tsctl swarm init" or "tsctl swarm join" to connect this node to swarm and try again.',
    );
  }
}

export function isTsctlError(err: unknown, code?: ErrorCode): err is TsctlError {
  return err instanceof TsctlError && (code === undefined || err.code === code);
}
