import { readFile, rename, writeFile } from "node:fs/promises";

/**
 * ContainerMeta is our record of a container (container.json in its data dir). It is what lets
 * a restarted tsd recognise containers: runc knows processes, only we know tasks and images.
 */
export interface ContainerMeta {
  id: string;
  taskId: string;
  name: string;
  image: string;
  imageId: string;
  command: string[];
  createdAtMs: number;
  labels: Record<string, string>;
  cgroupsPath: string;
  stopSignal: string;
  stopGraceMs: number;
  /** Set before shutdown signals the container, so the exit is reported as ours. */
  stoppedByUs?: boolean;
}

/** readMeta returns undefined when the container has no (complete) metadata. */
export async function readMeta(path: string): Promise<ContainerMeta | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as ContainerMeta;
  } catch {
    return undefined;
  }
}

/** writeMeta replaces the file atomically so a crash never leaves half a record. */
export async function writeMeta(path: string, meta: ContainerMeta): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify(meta, null, 2) + "\n");
  await rename(tmp, path);
}
