/**
 * guard wraps every handler of a service with an authorization check that runs before the handler,
 * so a service registered on the TCP listener cannot forget one. The same handlers are registered
 * unguarded on the local socket, whose callers are root on this node.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { CallContext, ServerHandlers } from "@tsctl/api";

type AnyHandler = (input: unknown, ctx: CallContext) => unknown;

export function guard<S extends GenServiceMethods>(
  service: GenService<S>,
  handlers: ServerHandlers<S>,
  check: (ctx: CallContext, method: DescMethod) => void,
): ServerHandlers<S> {
  const out: Record<string, AnyHandler> = {};
  for (const m of service.methods as DescMethod[]) {
    const h = (handlers as unknown as Record<string, AnyHandler>)[m.localName]!;
    const streamsOut = m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming";
    out[m.localName] = streamsOut
      ? async function* (input, ctx) {
          check(ctx, m);
          yield* h(input, ctx) as AsyncIterable<unknown>;
        }
      : async (input, ctx) => {
          check(ctx, m);
          return h(input, ctx);
        };
  }
  return out as unknown as ServerHandlers<S>;
}
