/**
 * The one adapter between protobuf-es service descriptors and @grpc/grpc-js: servers register
 * plain async handlers, clients get promise / async-iterable methods. Every error crossing the
 * boundary goes through toGrpcStatus / fromGrpcError, so codes survive the wire both ways.
 */
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { TsctlError, type ErrorCode } from "./errors.js";

const codeToStatus: Record<ErrorCode, grpc.status> = {
  NotFound: grpc.status.NOT_FOUND,
  AlreadyExists: grpc.status.ALREADY_EXISTS,
  InvalidArgument: grpc.status.INVALID_ARGUMENT,
  FailedPrecondition: grpc.status.FAILED_PRECONDITION,
  Unavailable: grpc.status.UNAVAILABLE,
  PermissionDenied: grpc.status.PERMISSION_DENIED,
  Internal: grpc.status.INTERNAL,
};

/** toGrpcStatus maps any thrown value to a gRPC error; unknown errors become INTERNAL. */
export function toGrpcStatus(err: unknown): grpc.ServiceError {
  const status = err instanceof TsctlError ? codeToStatus[err.code] : grpc.status.INTERNAL;
  const message = err instanceof Error ? err.message : String(err);
  return Object.assign(new Error(message), { code: status, details: message, metadata: new grpc.Metadata() });
}

/** fromGrpcError turns a gRPC client error back into a TsctlError with the same code. */
export function fromGrpcError(err: unknown): TsctlError {
  if (err instanceof TsctlError) return err;
  const e = err as Partial<grpc.ServiceError>;
  const details = e.details ?? (err instanceof Error ? err.message : String(err));
  switch (e.code) {
    case grpc.status.NOT_FOUND:
      return new TsctlError("NotFound", details);
    case grpc.status.ALREADY_EXISTS:
      return new TsctlError("AlreadyExists", details);
    case grpc.status.INVALID_ARGUMENT:
      return new TsctlError("InvalidArgument", details);
    case grpc.status.FAILED_PRECONDITION:
      return new TsctlError("FailedPrecondition", details);
    case grpc.status.PERMISSION_DENIED:
    case grpc.status.UNAUTHENTICATED:
      return new TsctlError("PermissionDenied", details);
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
      return new TsctlError("Unavailable", details, { temporary: true });
    default:
      return new TsctlError("Internal", details);
  }
}

function serializer<D extends DescMessage>(schema: D) {
  return {
    serialize: (msg: MessageShape<D>) => Buffer.from(toBinary(schema, msg)),
    deserialize: (buf: Buffer) => fromBinary(schema, buf),
  };
}

function definitionFor(service: DescService): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) {
    const req = serializer(m.input);
    const res = serializer(m.output);
    def[m.localName] = {
      path: `/${service.typeName}/${m.name}`,
      requestStream: m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming",
      responseStream: m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming",
      requestSerialize: req.serialize,
      requestDeserialize: req.deserialize,
      responseSerialize: res.serialize,
      responseDeserialize: res.deserialize,
    } as grpc.MethodDefinition<unknown, unknown>;
  }
  return def as grpc.ServiceDefinition;
}

type Input<M> = M extends { input: infer I extends DescMessage } ? MessageShape<I> : never;
type Output<M> = M extends { output: infer O extends DescMessage } ? MessageShape<O> : never;
type OutputInit<M> = M extends { output: infer O extends DescMessage } ? MessageInitShape<O> : never;
type InputInit<M> = M extends { input: infer I extends DescMessage } ? MessageInitShape<I> : never;

/**
 * CallContext is given to every handler: the caller's metadata, a signal fired on cancel, and on
 * TLS connections the certificate the client presented (DER), which is how handlers learn who
 * calls (see authorize in tsd).
 */
export interface CallContext {
  readonly metadata: grpc.Metadata;
  readonly signal: AbortSignal;
  readonly peer: string;
  /** DER of the client's certificate; undefined on the local socket or without a client cert. */
  readonly peerCertificate?: Buffer;
}

/** ServiceHandlers derives the handler type from a generated service constant. */
export type ServiceHandlers<T> = T extends GenService<infer S> ? ServerHandlers<S> : never;

/** ServerHandlers is what a service implementation provides, one function per rpc. */
export type ServerHandlers<S extends GenServiceMethods> = {
  [K in keyof S]: S[K]["methodKind"] extends "unary"
    ? (req: Input<S[K]>, ctx: CallContext) => Promise<OutputInit<S[K]>>
    : S[K]["methodKind"] extends "server_streaming"
      ? (req: Input<S[K]>, ctx: CallContext) => AsyncIterable<OutputInit<S[K]>>
      : S[K]["methodKind"] extends "client_streaming"
        ? (reqs: AsyncIterable<Input<S[K]>>, ctx: CallContext) => Promise<OutputInit<S[K]>>
        : (reqs: AsyncIterable<Input<S[K]>>, ctx: CallContext) => AsyncIterable<OutputInit<S[K]>>;
};

interface AnyServerCall {
  metadata: grpc.Metadata;
  getPeer(): string;
  getAuthContext?(): { sslPeerCertificate?: import("node:tls").PeerCertificate };
  on(event: string, listener: () => void): unknown;
}

function contextOf(call: AnyServerCall): CallContext {
  const abort = new AbortController();
  call.on("cancelled", () => abort.abort());
  call.on("close", () => abort.abort());
  const raw = call.getAuthContext?.()?.sslPeerCertificate?.raw;
  // Node reports "no certificate" as an empty object, not undefined.
  const peerCertificate = raw && raw.length > 0 ? raw : undefined;
  return { metadata: call.metadata, signal: abort.signal, peer: call.getPeer(), peerCertificate };
}

/** writeAll streams messages to a server stream, honouring back-pressure. */
async function writeAll(
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  output: DescMessage,
  open: () => AsyncIterable<unknown>,
  signal: AbortSignal,
): Promise<void> {
  // open() runs inside the promise so a handler that throws before yielding becomes a status.
  for await (const init of open()) {
    if (signal.aborted) break;
    const ok = call.write(create(output, init as MessageInitShape<DescMessage>));
    if (!ok) await new Promise<void>((resolve) => call.once("drain", resolve));
  }
}

/** addService registers handlers for a protobuf-es service on a grpc-js server. */
export function addService<S extends GenServiceMethods>(
  server: grpc.Server,
  service: GenService<S>,
  handlers: ServerHandlers<S>,
): void {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const m of service.methods as DescMethod[]) {
    const handler = (handlers as Record<string, (...args: unknown[]) => unknown>)[m.localName];
    if (!handler) throw new Error(`no handler for ${service.typeName}.${m.name}`);
    switch (m.methodKind) {
      case "unary":
        impl[m.localName] = (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          const ctx = contextOf(call);
          Promise.resolve()
            .then(() => handler(call.request, ctx) as Promise<unknown>)
            .then(
            (res) => cb(null, create(m.output, res as MessageInitShape<DescMessage>)),
            (err) => cb(toGrpcStatus(err)),
          );
        };
        break;
      case "server_streaming":
        impl[m.localName] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
          const ctx = contextOf(call);
          writeAll(call, m.output, () => handler(call.request, ctx) as AsyncIterable<unknown>, ctx.signal).then(
            () => call.end(),
            // grpc-js turns an emitted error into the call's status; destroy(err) would leave the
            // client waiting for a status that never comes.
            (err) => call.emit("error", toGrpcStatus(err)),
          );
        };
        break;
      case "client_streaming":
        impl[m.localName] = (call: grpc.ServerReadableStream<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          const ctx = contextOf(call);
          Promise.resolve()
            .then(() => handler(call as AsyncIterable<unknown>, ctx) as Promise<unknown>)
            .then(
            (res) => cb(null, create(m.output, res as MessageInitShape<DescMessage>)),
            (err) => cb(toGrpcStatus(err)),
          );
        };
        break;
      case "bidi_streaming":
        impl[m.localName] = (call: grpc.ServerDuplexStream<unknown, unknown>) => {
          const ctx = contextOf(call);
          writeAll(call, m.output, () => handler(call as AsyncIterable<unknown>, ctx) as AsyncIterable<unknown>, ctx.signal).then(
            () => call.end(),
            // grpc-js turns an emitted error into the call's status; destroy(err) would leave the
            // client waiting for a status that never comes.
            (err) => call.emit("error", toGrpcStatus(err)),
          );
        };
        break;
    }
  }
  server.addService(definitionFor(service), impl);
}

/** CallOptions for client calls: cancellation and an optional deadline in milliseconds. */
export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Request metadata, e.g. the hop marker of a call a follower forwards to the leader. */
  metadata?: Record<string, string>;
}

function metadataOf(opts?: CallOptions): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(opts?.metadata ?? {})) md.set(k, v);
  return md;
}

/** BidiCall is the client side of a bidirectional stream. */
export interface BidiCall<I, O> extends AsyncIterable<O> {
  send(msg: I): boolean;
  end(): void;
  cancel(): void;
}

/** Client is the typed client of a protobuf-es service. */
export type Client<S extends GenServiceMethods> = {
  [K in keyof S]: S[K]["methodKind"] extends "unary"
    ? (req: InputInit<S[K]>, opts?: CallOptions) => Promise<Output<S[K]>>
    : S[K]["methodKind"] extends "server_streaming"
      ? (req: InputInit<S[K]>, opts?: CallOptions) => AsyncIterable<Output<S[K]>>
      : S[K]["methodKind"] extends "client_streaming"
        ? (reqs: AsyncIterable<InputInit<S[K]>>, opts?: CallOptions) => Promise<Output<S[K]>>
        : (opts?: CallOptions) => BidiCall<InputInit<S[K]>, Output<S[K]>>;
};

function callOptions(opts?: CallOptions): grpc.CallOptions {
  return opts?.timeoutMs ? { deadline: Date.now() + opts.timeoutMs } : {};
}

function bindSignal(call: { cancel(): void }, signal?: AbortSignal): void {
  if (!signal) return;
  if (signal.aborted) call.cancel();
  else signal.addEventListener("abort", () => call.cancel(), { once: true });
}

/**
 * keepErrorForIterator: a stream call that fails before anyone iterates it (no connection) emits
 * 'error' with no listener, which would crash the process. The stream keeps the error and its
 * iterator throws it, so a listener that does nothing is all that is needed.
 */
function keepErrorForIterator(call: { on(event: "error", listener: () => void): unknown }): void {
  call.on("error", () => undefined);
}

async function* readStream<T>(stream: AsyncIterable<unknown>): AsyncGenerator<T> {
  try {
    for await (const msg of stream) yield msg as T;
  } catch (err) {
    if ((err as grpc.ServiceError).code === grpc.status.CANCELLED) return;
    throw fromGrpcError(err);
  }
}

/** createClient builds a typed client over a grpc-js channel (one per target, reused). */
export function createClient<S extends GenServiceMethods>(service: GenService<S>, raw: grpc.Client): Client<S> {
  const client: Record<string, unknown> = {};
  for (const m of service.methods as DescMethod[]) {
    const path = `/${service.typeName}/${m.name}`;
    const req = serializer(m.input);
    const res = serializer(m.output);
    switch (m.methodKind) {
      case "unary":
        client[m.localName] = (init: MessageInitShape<DescMessage>, opts?: CallOptions) =>
          new Promise((resolve, reject) => {
            const call = raw.makeUnaryRequest(path, req.serialize, res.deserialize, create(m.input, init), metadataOf(opts), callOptions(opts), (err, value) =>
              err ? reject(fromGrpcError(err)) : resolve(value),
            );
            bindSignal(call, opts?.signal);
          });
        break;
      case "server_streaming":
        client[m.localName] = (init: MessageInitShape<DescMessage>, opts?: CallOptions) => {
          const call = raw.makeServerStreamRequest(path, req.serialize, res.deserialize, create(m.input, init), metadataOf(opts), callOptions(opts));
          keepErrorForIterator(call);
          bindSignal(call, opts?.signal);
          return readStream(call);
        };
        break;
      case "client_streaming":
        client[m.localName] = (source: AsyncIterable<MessageInitShape<DescMessage>>, opts?: CallOptions) =>
          new Promise((resolve, reject) => {
            const call = raw.makeClientStreamRequest(path, req.serialize, res.deserialize, metadataOf(opts), callOptions(opts), (err, value) =>
              err ? reject(fromGrpcError(err)) : resolve(value),
            );
            bindSignal(call, opts?.signal);
            (async () => {
              for await (const init of source) {
                if (!call.write(create(m.input, init))) await new Promise<void>((r) => call.once("drain", r));
              }
              call.end();
            })().catch((err) => {
              call.cancel();
              reject(err);
            });
          });
        break;
      case "bidi_streaming":
        client[m.localName] = (opts?: CallOptions) => {
          const call = raw.makeBidiStreamRequest(path, req.serialize, res.deserialize, metadataOf(opts), callOptions(opts));
          keepErrorForIterator(call);
          bindSignal(call, opts?.signal);
          const iter = readStream(call);
          return {
            send: (init: MessageInitShape<DescMessage>) => call.write(create(m.input, init)),
            end: () => call.end(),
            cancel: () => call.cancel(),
            [Symbol.asyncIterator]: () => iter,
          };
        };
        break;
    }
  }
  return client as Client<S>;
}

/**
 * dial opens a grpc-js channel. Targets: "unix:///path/to.sock" (insecure; local root only) or
 * "host:port" with TLS credentials (see packages/tsd tls-credentials).
 */
export function dial(target: string, credentials = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}): grpc.Client {
  return new grpc.Client(target, credentials, {
    ...options,
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
    "grpc.max_send_message_length": 64 * 1024 * 1024,
    // An agent's session is one long-lived stream: HTTP/2 pings notice a manager that vanished
    // without closing the connection (host lost, network cut) within ~15 s, so the agent can fail
    // over instead of waiting on a dead stream.
    "grpc.keepalive_time_ms": 10_000,
    "grpc.keepalive_timeout_ms": 5_000,
    "grpc.keepalive_permit_without_calls": 1,
  });
}

export { grpc };
