import { clone, create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { GenMessage } from "@bufbuild/protobuf/codegenv2";
import { ClusterSchema, MetaSchema, NodeSchema, ServiceSchema, TaskSchema } from "@tsctl/api";
import type { Kind, KindMap, StoredObject } from "./types.js";

/** PREFIX is the root of everything the store writes; one watch covers it. */
export const PREFIX = "/tsctl/v1/";
const NAMES = `${PREFIX}names/service/`;
export const KINDS: readonly Kind[] = ["cluster", "node", "service", "task"];

const schemas: { [K in Kind]: GenMessage<KindMap[K]> } = {
  cluster: ClusterSchema,
  node: NodeSchema,
  service: ServiceSchema,
  task: TaskSchema,
};

/** schema narrows the table to one kind; TypeScript cannot correlate K across a mapped type. */
function schema<K extends Kind>(kind: K): GenMessage<KindMap[K]> {
  return schemas[kind] as GenMessage<KindMap[K]>;
}

export function objectKey(kind: Kind, id: string): string {
  return `${PREFIX}${kind}/${id}`;
}

/** nameKey holds a service's id; creating it with a must-not-exist guard makes names unique. */
export function nameKey(name: string): string {
  return `${NAMES}${name}`;
}

/** parseKey returns the kind and id of an object key, or undefined for any other key (names). */
export function parseKey(key: string): { kind: Kind; id: string } | undefined {
  if (!key.startsWith(PREFIX)) return undefined;
  const rest = key.slice(PREFIX.length);
  const slash = rest.indexOf("/");
  const kind = rest.slice(0, slash) as Kind;
  if (slash < 0 || !(kind in schemas)) return undefined;
  return { kind, id: rest.slice(slash + 1) };
}

/** encode stores an object without its version: the key's mod revision is the only truth. */
export function encode<K extends Kind>(kind: K, obj: KindMap[K]): Uint8Array {
  const meta = obj.meta;
  if (meta === undefined) return toBinary(schema(kind), obj);
  const version = meta.version;
  meta.version = 0;
  try {
    return toBinary(schema(kind), obj);
  } finally {
    meta.version = version;
  }
}

/** decode parses stored bytes and stamps meta.version with the key's mod revision. */
export function decode<K extends Kind>(kind: K, bytes: Uint8Array, modRevision: number): KindMap[K] {
  const obj = fromBinary(schema(kind), bytes);
  obj.meta ??= create(MetaSchema);
  obj.meta.version = modRevision;
  return obj;
}

export function cloneObject<K extends Kind>(kind: K, obj: KindMap[K]): KindMap[K] {
  return clone(schema(kind), obj);
}

/** versionOf is the compare-and-swap token of an object (0 when it was never stored). */
export function versionOf(obj: StoredObject): number {
  return obj.meta?.version ?? 0;
}

/** serviceName is the unique name of a service, "" when it has none. */
export function serviceName(obj: KindMap["service"]): string {
  return obj.spec?.annotations?.name ?? "";
}
