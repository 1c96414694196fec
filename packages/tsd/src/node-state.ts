/**
 * NodeState is what a node remembers across restarts about its swarm membership. It is written
 * atomically (temp file + rename), so a crash leaves either the old or the new state. It is
 * written last when joining, so a node that crashed half-way is simply not in a swarm.
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

export interface NodeState {
  nodeId: string;
  clusterId: string;
  role: "manager" | "worker";
  /** The node's address on the underlay (host only). */
  advertiseAddr: string;
  /** Managers: host:port the gRPC listener binds, and host:port others dial. */
  listenAddr?: string;
  managerAddr?: string;
  /** Every manager as last learned, for the agent to find the leader after a restart. */
  managers: { nodeId: string; addr: string }[];
  etcd?: { name: string; clientPort: number; peerPort: number };
}

export function nodeStatePath(dataRoot: string): string {
  return join(dataRoot, "swarm", "state.json");
}

/** loadNodeState returns undefined when the node is not part of a swarm. */
export async function loadNodeState(dataRoot: string): Promise<NodeState | undefined> {
  try {
    const state = JSON.parse(await readFile(nodeStatePath(dataRoot), "utf8")) as NodeState;
    state.managers ??= [];
    return state;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read swarm state ${nodeStatePath(dataRoot)}: ${(err as Error).message}`);
  }
}

export async function saveNodeState(dataRoot: string, state: NodeState): Promise<void> {
  const path = nodeStatePath(dataRoot);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + "\n", { mode: 0o600, flush: true });
  await rename(tmp, path);
}

/** forgetSwarm removes the membership record, the certificates and the etcd data. */
export async function forgetSwarm(dataRoot: string): Promise<void> {
  await rm(nodeStatePath(dataRoot), { force: true });
  await rm(join(dataRoot, "swarm"), { recursive: true, force: true });
  await rm(join(dataRoot, "etcd"), { recursive: true, force: true });
}
