/**
 * Lookups by name, id or prefix that turn the daemon's NotFound into the "No such …" error Docker
 * prints, so callers need no error handling of their own.
 */
import { isTsctlError, type Node, type Service, type Task } from "@tsctl/api";
import { NoSuchObjectError } from "../errors.js";
import type { ControlClient } from "../session.js";

async function lookup<T>(kind: string, ref: string, get: () => Promise<T | undefined>): Promise<T> {
  try {
    const found = await get();
    if (found === undefined) throw new NoSuchObjectError(kind, ref);
    return found;
  } catch (err) {
    if (isTsctlError(err, "NotFound")) throw new NoSuchObjectError(kind, ref);
    throw err;
  }
}

/** getService resolves a service by id, name or unique id prefix. */
export function getService(ctl: ControlClient, ref: string): Promise<Service> {
  return lookup("service", ref, async () => (await ctl.getService({ serviceId: ref })).service);
}

/** getNode resolves a node by id, hostname, prefix or "self". */
export function getNode(ctl: ControlClient, ref: string): Promise<Node> {
  return lookup("node", ref, async () => (await ctl.getNode({ nodeId: ref })).node);
}

/** getTask resolves a task by id or unique id prefix. */
export function getTask(ctl: ControlClient, ref: string): Promise<Task> {
  return lookup("task", ref, async () => (await ctl.getTask({ taskId: ref })).task);
}

/** hostnames maps node ids to hostnames; empty when the node list is unavailable. */
export async function hostnames(ctl: ControlClient): Promise<Map<string, string>> {
  try {
    const { nodes } = await ctl.listNodes({});
    return new Map(nodes.map((n) => [n.id, n.description?.hostname ?? ""]));
  } catch {
    // Hostnames only decorate output; a listing should still print if nodes can't be listed.
    return new Map();
  }
}
