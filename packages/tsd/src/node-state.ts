/**
 * NodeState is what a node remembers across restarts about its swarm membership. It is written
 * atomically (temp file + rename), so a crash leaves either the old or the new state.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

export interface NodeState {
  nodeId: string;
  clusterId: string;
  role: "manager" | "worker";
  advertiseAddr: string;
  etcd: { name: string; clientPort: number; peerPort: number };
}

export function nodeStatePath(dataRoot: string): string {
  return join(dataRoot, "swarm", "state.json");
}

/** loadNodeState returns undefined when the node is not part of a swarm. */
export async function loadNodeState(dataRoot: string): Promise<NodeState | undefined> {
  try {
    return JSON.parse(await readFile(nodeStatePath(dataRoot), "utf8")) as NodeState;
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
