/**
 * Session owns the CLI's connection to tsd: it resolves the host, opens one gRPC channel lazily,
 * checks within a short deadline that the daemon answers (so a stopped daemon is reported at once),
 * and closes the channel when the command ends.
 */
import { ControlService, NodeService, createClient, dial, grpc } from "@tsctl/api";
import { DaemonUnreachableError } from "./errors.js";

/** defaultHost is where tsd listens with the default exec root. */
export const defaultHost = "unix:///run/tsd/tsd.sock";

const connectTimeoutMs = 3000;

const controlClient = (raw: grpc.Client) => createClient(ControlService, raw);
const nodeClient = (raw: grpc.Client) => createClient(NodeService, raw);

/** ControlClient calls the manager's ControlService. */
export type ControlClient = ReturnType<typeof controlClient>;
/** NodeClient calls the local node's NodeService. */
export type NodeClient = ReturnType<typeof nodeClient>;

/** Io is the process surface a command may use; tests substitute buffers for it. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Raw bytes for streamed container output. */
  outBytes(data: Uint8Array): void;
  errBytes(data: Uint8Array): void;
  readonly isTty: boolean;
  readonly stdinIsTty: boolean;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: Record<string, string | undefined>;
  now(): number;
}

/** resolveHost picks -H, then TSCTL_HOST, then the default socket. */
export function resolveHost(flag: string | undefined, env: Record<string, string | undefined>): string {
  return flag || env["TSCTL_HOST"] || defaultHost;
}

/** Session is one command's connection; `control()` / `node()` connect on first use. */
export class Session {
  private raw: grpc.Client | undefined;
  private ready: Promise<void> | undefined;

  constructor(
    readonly host: string,
    readonly io: Io,
  ) {}

  /** control returns the ControlService client once the daemon is known to answer. */
  async control(): Promise<ControlClient> {
    return controlClient(await this.channel());
  }

  /** node returns the NodeService client once the daemon is known to answer. */
  async node(): Promise<NodeClient> {
    return nodeClient(await this.channel());
  }

  /** close releases the channel; safe to call more than once. */
  close(): void {
    this.raw?.close();
    this.raw = undefined;
  }

  private async channel(): Promise<grpc.Client> {
    if (!this.raw) {
      this.raw = dial(this.host);
      this.ready = waitConnected(this.raw, this.host);
    }
    await this.ready;
    return this.raw;
  }
}

// Watch the channel rather than waitForReady: a missing socket shows as TRANSIENT_FAILURE almost
// immediately, and we want to fail then instead of retrying until the deadline.
function waitConnected(raw: grpc.Client, host: string): Promise<void> {
  const channel = raw.getChannel();
  const deadline = Date.now() + connectTimeoutMs;
  return new Promise((resolve, reject) => {
    const check = () => {
      const state = channel.getConnectivityState(true);
      if (state === grpc.connectivityState.READY) return resolve();
      if (state === grpc.connectivityState.TRANSIENT_FAILURE || state === grpc.connectivityState.SHUTDOWN) {
        return reject(new DaemonUnreachableError(host));
      }
      channel.watchConnectivityState(state, deadline, (err) => (err ? reject(new DaemonUnreachableError(host, err)) : check()));
    };
    check();
  });
}
