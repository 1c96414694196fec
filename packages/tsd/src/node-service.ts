/**
 * nodeService is the thin gRPC face of node-local things: images and containers of this node.
 */
import { AsyncQueue, NotFoundError, InvalidArgumentError, type NodeService, type ServiceHandlers } from "@tsctl/api";
import { diskBytes, imageUsage, pruneImages, type ContainerInfo } from "@tsctl/worker";
import { join } from "node:path";
import type { Daemon } from "./daemon.js";

function summary(c: ContainerInfo) {
  return {
    id: c.id,
    name: c.name,
    image: c.image,
    command: c.command.join(" "),
    createdMs: c.createdAtMs,
    state: c.state,
    status: "",
    pid: c.pid,
    labels: c.labels,
    exitCode: c.exit?.exitCode ?? 0,
    finishedMs: c.exit?.finishedAtMs ?? 0,
  };
}

/** findContainer resolves a container id, unique id prefix, or name. */
async function findContainer(daemon: Daemon, ref: string): Promise<ContainerInfo> {
  const all = await daemon.executor.list();
  const exact = all.find((c) => c.id === ref || c.name === ref);
  if (exact) return exact;
  const byPrefix = all.filter((c) => ref !== "" && c.id.startsWith(ref));
  if (byPrefix.length > 1) throw new InvalidArgumentError(`container ${ref} is ambiguous (${byPrefix.length} matches found)`);
  if (!byPrefix[0]) throw new NotFoundError(`No such container: ${ref}`);
  return byPrefix[0];
}

export function nodeService(daemon: Daemon): ServiceHandlers<typeof NodeService> {
  const inUse = async () => {
    const used = new Set((await daemon.executor.list()).map((c) => c.labels["tsctl.image.id"] ?? c.image));
    return (imageId: string) => used.has(imageId);
  };
  return {
    info: async () => daemon.info(),
    loadImage: async (chunks) => {
      async function* bytes() {
        for await (const c of chunks) yield c.data;
      }
      return { loaded: await daemon.images.load(bytes()) };
    },
    pullImage: async function* (req, ctx) {
      const events = new AsyncQueue<{ digest: string; action: string; current: number; total: number }>();
      const credentials = req.auth?.username ? { username: req.auth.username, password: req.auth.password } : undefined;
      const done = daemon.puller.pull(req.ref, { credentials, onProgress: (p) => events.push(p), signal: ctx.signal });
      void done.then(
        () => events.close(),
        (err: unknown) => events.fail(err),
      );
      yield* events;
      const res = await done;
      yield { manifestDigest: res.digest, ref: res.ref };
    },
    pushImage: async function* (req, ctx) {
      const events = new AsyncQueue<{ id: string; action: string; current: number; total: number; mountedFrom: string }>();
      const credentials = req.auth?.username ? { username: req.auth.username, password: req.auth.password } : undefined;
      const done = daemon.puller.push(req.ref, {
        credentials,
        onProgress: (p) => events.push({ id: p.id, action: p.action, current: p.current, total: p.total, mountedFrom: p.from ?? "" }),
        signal: ctx.signal,
      });
      void done.then(
        () => events.close(),
        (err: unknown) => events.fail(err),
      );
      yield* events;
      const res = await done;
      yield { tag: res.tag, digest: res.digest, size: res.size };
    },
    login: async (req, ctx) => {
      await daemon.puller.login(req.server, { username: req.username, password: req.password }, ctx.signal);
      return { status: "Login Succeeded" };
    },
    saveImage: async function* (req) {
      if (req.refs.length === 0) throw new InvalidArgumentError("no image names given to save");
      for await (const data of await daemon.images.save(req.refs)) yield { data };
    },
    imageHistory: async (req) => ({ entries: await daemon.images.history(req.ref) }),
    listImages: async () => ({ images: await daemon.images.list() }),
    pruneImages: async (req) => {
      const r = await pruneImages(daemon.images, daemon.imagesRoot, { all: req.all, inUse: await inUse() });
      return { untagged: r.untagged, deleted: r.deleted, spaceReclaimed: r.spaceReclaimed };
    },
    diskUsage: async () => {
      const images = await imageUsage(daemon.images, daemon.imagesRoot, await inUse());
      const containers = await daemon.executor.list();
      let size = 0;
      let reclaimable = 0;
      for (const c of containers) {
        const bytes = await diskBytes(join(daemon.containersRoot, c.id));
        size += bytes;
        if (c.state !== "running") reclaimable += bytes;
      }
      return {
        images: images.total,
        imagesActive: images.active,
        imagesSize: images.size,
        imagesReclaimable: images.reclaimable,
        containers: containers.length,
        containersRunning: containers.filter((c) => c.state === "running").length,
        containersSize: size,
        containersReclaimable: reclaimable,
      };
    },
    inspectImage: async (req) => {
      const img = await daemon.images.inspect(req.ref);
      return { image: img, configJson: img.configJson, layerDiffIds: img.layerDiffIds };
    },
    tagImage: async (req) => {
      await daemon.images.tag(req.source, req.target);
      return {};
    },
    removeImage: async (req) => daemon.images.remove(req.ref, { force: req.force, inUse: await inUse() }),
    listContainers: async (req) => ({
      containers: (await daemon.executor.list()).filter((c) => req.all || c.state === "running").map(summary),
    }),
    exec: (req, ctx) => {
      const out = new AsyncQueue<{ out: { case: "stdout" | "stderr"; value: Uint8Array } | { case: "exitCode"; value: number } }>();
      void (async () => {
        try {
          const c = await findContainer(daemon, req.containerId);
          const code = await daemon.executor.exec(
            c.id,
            { cmd: req.cmd, env: req.env, user: req.user || undefined, workdir: req.workdir || undefined },
            {
              onStdout: (chunk) => out.push({ out: { case: "stdout", value: chunk } }),
              onStderr: (chunk) => out.push({ out: { case: "stderr", value: chunk } }),
            },
            ctx.signal,
          );
          out.push({ out: { case: "exitCode", value: code } });
          out.close();
        } catch (err) {
          out.fail(err);
        }
      })();
      return out;
    },
  };
}
