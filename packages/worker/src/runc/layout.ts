import { join } from "node:path";
import { InvalidArgumentError } from "@tsctl/api";

/** RuncRoots are the two trees the runc executor owns: volatile state and persistent data. */
export interface RuncRoots {
  /** Volatile (tmpfs-like) root: runc state, bundles, pid files, exit files. */
  execRoot: string;
  /** Persistent root: overlay upper/work dirs, our metadata, container logs. */
  dataRoot: string;
}

/** ContainerPaths names every file and directory one container uses. */
export interface ContainerPaths {
  execDir: string;
  configJson: string;
  rootfs: string;
  conmonPidFile: string;
  containerPidFile: string;
  exitDir: string;
  exitFile: string;
  socketDir: string;
  runcLog: string;
  hostnameFile: string;
  hostsFile: string;
  resolvFile: string;
  dataDir: string;
  upperDir: string;
  workDir: string;
  metaFile: string;
  logFile: string;
}

const ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** checkContainerId rejects ids runc would refuse or that could escape our directories. */
export function checkContainerId(id: string): string {
  if (!ID_RE.test(id)) throw new InvalidArgumentError(`invalid container id "${id}"`);
  return id;
}

/** runcRootDir is runc's --root: one state directory for every container of this node. */
export function runcRootDir(roots: RuncRoots): string {
  return join(roots.execRoot, "runc");
}

export function execContainersDir(roots: RuncRoots): string {
  return join(roots.execRoot, "containers");
}

export function dataContainersDir(roots: RuncRoots): string {
  return join(roots.dataRoot, "containers");
}

/** containerPaths lays out one container; the id is checked so it cannot name a path outside. */
export function containerPaths(roots: RuncRoots, id: string): ContainerPaths {
  checkContainerId(id);
  const execDir = join(execContainersDir(roots), id);
  const dataDir = join(dataContainersDir(roots), id);
  const exitDir = join(execDir, "exit");
  return {
    execDir,
    configJson: join(execDir, "config.json"),
    rootfs: join(execDir, "rootfs"),
    conmonPidFile: join(execDir, "conmon.pid"),
    containerPidFile: join(execDir, "container.pid"),
    exitDir,
    // conmon names the exit file after the container id (-c).
    exitFile: join(exitDir, id),
    socketDir: join(execDir, "sock"),
    runcLog: join(execDir, "runc-log.json"),
    hostnameFile: join(execDir, "hostname"),
    hostsFile: join(execDir, "hosts"),
    resolvFile: join(execDir, "resolv.conf"),
    dataDir,
    upperDir: join(dataDir, "upper"),
    workDir: join(dataDir, "work"),
    metaFile: join(dataDir, "container.json"),
    logFile: join(dataDir, "ctr.log"),
  };
}
