/**
 * Agent contracts: what the agent is given (a way to open a session, a clock, a logger) and the
 * options it is built with. Everything time- or network-related is injected so tests drive it.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AgentMessageSchema, BidiCall, ManagerMessage, Redirect, SessionStarted } from "@tsctl/api";
import type { Executor } from "../executor/types.js";
import type { BackoffOptions } from "./backoff.js";

/** SessionCall is the client side of DispatcherService.Session. */
export type SessionCall = BidiCall<MessageInitShape<typeof AgentMessageSchema>, ManagerMessage>;

/** Clock is the agent's only source of time and timers. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Logger receives the agent's diagnostics; fields are structured context. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** realClock uses the process timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** silentLogger drops everything; tsd passes a real logger. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** AgentOptions configures an Agent. */
export interface AgentOptions {
  nodeId: string;
  /** The node's underlay address, sent in register. */
  addr: string;
  executor: Executor;
  /** Opens a new Session stream; called once per connection attempt. */
  connect: () => SessionCall;
  /** A manager accepted the session (it names every manager and the role wanted for this node). */
  onSessionStarted?: (started: SessionStarted) => void;
  /** A follower sent the agent to the leader; the agent reconnects at once when one is named. */
  onRedirect?: (redirect: Redirect) => void;
  clock?: Clock;
  logger?: Logger;
  /** Reconnect policy; the delay function may be replaced so tests need not wait. */
  backoff?: Partial<BackoffOptions>;
  /** Window within which status updates are coalesced into one message (default 50 ms). */
  statusBatchMs?: number;
  /** Window within which log lines are batched into one chunk (default 50 ms). */
  logBatchMs?: number;
  /** Pause before retrying a step that failed for a reason other than the task itself (default 1 s). */
  retryMs?: number;
}
