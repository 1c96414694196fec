/**
 * Resolution of what users type (full id, name, unique id prefix) to stored objects, with
 * Docker's behaviour: an exact id wins, then an exact name, then a unique id prefix.
 */
import { NotFoundError, InvalidArgumentError, type Node, type Service, type Task } from "@tsctl/api";
import type { ReadTx } from "../store/types.js";

function byPrefix<T extends { id: string }>(kind: string, items: T[], prefix: string): T | undefined {
  const matches = items.filter((i) => i.id.startsWith(prefix));
  if (matches.length > 1) {
    throw new InvalidArgumentError(`${kind} ${prefix} is ambiguous (${matches.length} matches found)`);
  }
  return matches[0];
}

/** findService resolves a service id, name or id prefix; NotFound otherwise. */
export function findService(tx: ReadTx, ref: string): Service {
  const found = tx.get("service", ref) ?? tx.serviceByName(ref) ?? (ref ? byPrefix("service", tx.list("service"), ref) : undefined);
  if (!found) throw new NotFoundError(`no such service: ${ref}`);
  return found;
}

/** findTask resolves a task id or id prefix. */
export function findTask(tx: ReadTx, ref: string): Task {
  const found = tx.get("task", ref) ?? (ref ? byPrefix("task", tx.list("task"), ref) : undefined);
  if (!found) throw new NotFoundError(`no such task: ${ref}`);
  return found;
}

/** findNode resolves a node id, hostname or id prefix; "self" means selfId. */
export function findNode(tx: ReadTx, ref: string, selfId: string): Node {
  const id = ref === "self" ? selfId : ref;
  const direct = tx.get("node", id);
  if (direct) return direct;
  const nodes = tx.list("node");
  const byName = nodes.filter((n) => (n.spec?.annotations?.name || n.description?.hostname) === ref);
  if (byName.length > 1) throw new InvalidArgumentError(`node ${ref} is ambiguous (${byName.length} matches found)`);
  const found = byName[0] ?? (ref ? byPrefix("node", nodes, ref) : undefined);
  if (!found) throw new NotFoundError(`no such node: ${ref}`);
  return found;
}
