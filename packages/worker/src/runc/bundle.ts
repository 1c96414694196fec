import { existsSync } from "node:fs";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { FailedPreconditionError, InvalidArgumentError, isTsctlError, type Task } from "@tsctl/api";
import type { RuncContext } from "./context.js";
import { containerPaths } from "./layout.js";
import { readMeta, writeMeta, type ContainerMeta } from "./metadata.js";
import { nofileLimit } from "./host-limits.js";
import { buildOciSpec, cgroupsPathFor } from "./oci-spec.js";
import { isMounted, mountOverlay } from "./overlay.js";
import { mergeEnv, processArgs } from "./process-spec.js";
import { resolveUser } from "./user-lookup.js";

/** initBinary checks the init `--init` needs is there, so a missing one is a clear task error. */
async function initBinary(path: string): Promise<string> {
  if (!existsSync(path)) throw new FailedPreconditionError(`--init needs ${path} (Debian package tini), which this node does not have`);
  return path;
}

/** DEFAULT_STOP_GRACE_MS is Docker's stop timeout when a service sets none. */
export const DEFAULT_STOP_GRACE_MS = 10_000;

/** containerName follows swarm: <service>.<slot>.<task>, or <service>.<node>.<task> for global. */
export function containerName(task: Task): string {
  const service = task.serviceName || task.serviceId || "task";
  return `${service}.${task.slot > 0 ? String(task.slot) : task.nodeId}.${task.id}`;
}

function hostsFile(hostname: string): string {
  // No address of our own yet (loopback-only namespace); overlay networking adds one later.
  return [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "ff00::0\tip6-mcastprefix",
    "ff02::1\tip6-allnodes",
    "ff02::2\tip6-allrouters",
    `127.0.0.1\t${hostname}`,
    "",
  ].join("\n");
}

/**
 * resolveOrPull finds the task's image in the store, pulling it first when it is missing, with the
 * service's registry credentials when it was created `--with-registry-auth`.
 */
async function resolveOrPull(ctx: RuncContext, ref: string, pullAuth: string, signal: AbortSignal) {
  try {
    return await ctx.images.resolve(ref);
  } catch (err) {
    if (!ctx.pullImage || !isTsctlError(err, "NotFound")) throw err;
  }
  await ctx.pullImage(ref, signal, decodeAuth(pullAuth));
  return ctx.images.resolve(ref);
}

function decodeAuth(auth: string): { username: string; password: string } | undefined {
  if (!auth) return undefined;
  const text = Buffer.from(auth, "base64").toString("utf8");
  const i = text.indexOf(":");
  return i > 0 ? { username: text.slice(0, i), password: text.slice(i + 1) } : undefined;
}

/**
 * prepareBundle makes a task's container ready for `runc create`: rootfs mounted from the image
 * layers, config.json, the /etc files it bind-mounts, and our metadata (written last, so its
 * presence means the bundle is complete). Calling it again on a complete bundle does nothing;
 * on a half-made one it redoes the missing steps.
 */
export async function prepareBundle(ctx: RuncContext, task: Task, signal: AbortSignal): Promise<void> {
  const id = task.id;
  const p = containerPaths(ctx.roots, id);
  if ((await readMeta(p.metaFile)) !== undefined && existsSync(p.configJson) && (await isMounted(p.rootfs))) return;
  const spec = task.spec?.container;
  if (spec === undefined) throw new InvalidArgumentError(`task ${id} has no container spec`);
  const image = await resolveOrPull(ctx, spec.image, spec.pullAuth, signal);
  signal.throwIfAborted();
  for (const d of [p.rootfs, p.exitDir, p.socketDir, p.upperDir, p.workDir]) await mkdir(d, { recursive: true });
  if (!(await isMounted(p.rootfs))) await mountOverlay(image.layerPaths, p.upperDir, p.workDir, p.rootfs, signal, ctx.spawner);

  const hostname = spec.hostname || id.slice(0, 12);
  const args = processArgs(spec, image.config);
  const user = await resolveUser(p.rootfs, spec.user || image.config.User || "");
  const limits = task.spec?.resources?.limits;
  const cgroupsPath = cgroupsPathFor(ctx.cgroupParent, id);
  await writeFile(p.hostnameFile, hostname + "\n");
  await writeFile(p.hostsFile, hostsFile(hostname));
  await copyFile(ctx.resolvConfSource, p.resolvFile).catch(() => writeFile(p.resolvFile, ""));
  const oci = buildOciSpec({
    args,
    env: mergeEnv(hostname, image.config.Env, spec.env),
    cwd: spec.dir || image.config.WorkingDir || "/",
    user,
    hostname,
    readOnly: spec.readOnly,
    cgroupsPath,
    files: { hostname: p.hostnameFile, hosts: p.hostsFile, resolvConf: p.resolvFile },
    limits: { nanoCpus: limits?.nanoCpus ?? 0, memoryBytes: limits?.memoryBytes ?? 0, pids: limits?.pids ?? 0 },
    nofile: await nofileLimit(),
    init: spec.init ? await initBinary(ctx.initPath) : undefined,
  });
  await writeFile(p.configJson, JSON.stringify(oci, null, 2) + "\n");
  const meta: ContainerMeta = {
    id,
    taskId: task.id,
    name: containerName(task),
    image: spec.image,
    imageId: image.id,
    command: args,
    createdAtMs: Date.now(),
    labels: { ...spec.labels },
    cgroupsPath,
    stopSignal: image.config.StopSignal || "SIGTERM",
    stopGraceMs: spec.stopGracePeriodMs ?? DEFAULT_STOP_GRACE_MS,
  };
  await writeMeta(p.metaFile, meta);
}
