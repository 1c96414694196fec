import { mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { NotFoundError, type NodeDescription, type Task } from "@tsctl/api";
import type { ContainerInfo, Controller, ExecIO, ExecRequest, Executor, LogLine } from "../executor/types.js";
import type { ImageStore } from "../images/types.js";
import { HelperSpawner, type Spawner } from "../spawner/index.js";
import { inspectContainer, listContainerIds } from "./container-info.js";
import type { RuncContext } from "./context.js";
import { describeNode, runcVersion } from "./describe.js";
import { readK8sLog } from "./k8s-log.js";
import { checkContainerId, containerPaths, dataContainersDir, execContainersDir, runcRootDir } from "./layout.js";
import { RuncCli } from "./runc-cli.js";
import { RuncController } from "./runc-controller.js";
import { runcExec } from "./runc-exec.js";

/** RuncExecutorOptions configure one node's runc executor. */
export interface RuncExecutorOptions {
  /** Persistent root (e.g. /var/lib/tsd): overlay upper dirs, metadata, logs. */
  dataRoot: string;
  /** Volatile root (e.g. /run/tsd): runc state, bundles, exit files. */
  execRoot: string;
  /** Cgroup under which every container gets <cgroupParent>/<id> (cgroupfs driver). */
  cgroupParent: string;
  images: ImageStore;
  /** Fetches a missing image before a task's container is prepared (see ImagePuller in tsd). */
  pullImage?: (ref: string, signal: AbortSignal, credentials?: { username: string; password: string }) => Promise<unknown>;
  hostname?: string;
  runcPath?: string;
  conmonPath?: string;
  /** Reported as this node's name when no hostname is given; otherwise unused. */
  nodeName?: string;
  /** resolv.conf copied into containers; the host's by default. */
  resolvConf?: string;
  /**
   * Starts runc, mount and conmon. By default a HelperSpawner the executor owns and ends on
   * dispose(); one given here stays the caller's to dispose.
   */
  spawner?: Spawner;
  /** Static init for `--init` containers (default: Debian's /usr/bin/tini-static). */
  initPath?: string;
}

/**
 * RuncExecutor runs tasks as runc containers supervised by conmon. All of its knowledge lives in
 * files under execRoot/dataRoot and in runc's state, so a new instance adopts the containers a
 * previous tsd left running.
 */
export class RuncExecutor implements Executor {
  private readonly ctx: RuncContext;
  private runtime: string | undefined;
  private readonly ownSpawner: Spawner | undefined;

  constructor(private readonly opts: RuncExecutorOptions) {
    const runcPath = opts.runcPath ?? "/usr/sbin/runc";
    this.ownSpawner = opts.spawner === undefined ? new HelperSpawner() : undefined;
    const spawner = opts.spawner ?? (this.ownSpawner as Spawner);
    this.ctx = {
      roots: { dataRoot: opts.dataRoot, execRoot: opts.execRoot },
      runc: new RuncCli(runcPath, runcRootDir({ dataRoot: opts.dataRoot, execRoot: opts.execRoot }), spawner),
      spawner,
      conmonPath: opts.conmonPath ?? "/usr/bin/conmon",
      cgroupParent: opts.cgroupParent,
      images: opts.images,
      pullImage: opts.pullImage,
      resolvConfSource: opts.resolvConf ?? "/etc/resolv.conf",
      initPath: opts.initPath ?? "/usr/bin/tini-static",
    };
  }

  /** init creates the roots; controllers also create what they need, this just fails early. */
  async init(): Promise<void> {
    for (const d of [runcRootDir(this.ctx.roots), execContainersDir(this.ctx.roots), dataContainersDir(this.ctx.roots)]) {
      await mkdir(d, { recursive: true, mode: 0o711 });
    }
  }

  async describe(): Promise<NodeDescription> {
    this.runtime ??= await runcVersion(this.ctx.runc.path, this.ctx.spawner);
    return describeNode(this.opts.hostname ?? this.opts.nodeName, this.runtime);
  }

  /**
   * dispose ends the spawner helper the executor started. Containers are unaffected; the executor
   * still works afterwards, forking directly. tsd need not call it: the helper exits with tsd.
   */
  async dispose(): Promise<void> {
    await this.ownSpawner?.dispose();
  }

  controller(task: Task): Controller {
    return new RuncController(this.ctx, task);
  }

  async list(): Promise<ContainerInfo[]> {
    const ids = (await listContainerIds(this.ctx)).filter((id) => {
      try {
        checkContainerId(id);
        return true;
      } catch {
        return false;
      }
    });
    const infos = await Promise.all(ids.map((id) => inspectContainer(this.ctx, id)));
    return infos.filter((i): i is ContainerInfo => i !== undefined);
  }

  async exec(containerId: string, req: ExecRequest, io: ExecIO, signal: AbortSignal): Promise<number> {
    checkContainerId(containerId);
    return runcExec(this.ctx, containerId, req, io, signal);
  }

  async *logs(containerId: string, opts: { follow: boolean; tail: number }, signal: AbortSignal): AsyncIterable<LogLine> {
    const p = containerPaths(this.ctx.roots, containerId);
    if (!existsSync(p.metaFile) && !existsSync(p.logFile)) throw new NotFoundError(`No such container: ${containerId}`);
    const exited = async (): Promise<boolean> => {
      const info = await inspectContainer(this.ctx, containerId);
      return info === undefined || info.state === "exited" || (info.state === "created" && !existsSync(p.conmonPidFile));
    };
    yield* readK8sLog(p.logFile, { follow: opts.follow, tail: opts.tail, exited }, signal);
  }
}

/** createRuncExecutor returns the runc executor for this node (see RuncExecutorOptions). */
export function createRuncExecutor(opts: RuncExecutorOptions): RuncExecutor {
  return new RuncExecutor(opts);
}
