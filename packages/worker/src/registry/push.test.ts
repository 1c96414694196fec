/**
 * The pusher against a scripted in-memory registry on loopback: blobs the repository has are not
 * sent, a mount source that has the blob lends it, a declined mount (202) becomes an upload in
 * the session it opened, and registry errors become one line.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRegistryPusher, type PushProgress } from "./push.js";
import { schema2Manifest } from "./push-manifest.js";

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** FakeRegistry keeps blobs per repository; declineMount answers mounts with 202. */
class FakeRegistry {
  blobs = new Map<string, Buffer>();
  manifests = new Map<string, Buffer>();
  requests: string[] = [];
  declineMount = false;
  failManifest = false;
  private server = http.createServer((req, res) => void this.handle(req, res));
  host = "";

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.host = `127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }
  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://x");
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    let m: RegExpExecArray | null;
    if (req.method === "HEAD" && (m = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]+)$/.exec(url.pathname))) {
      res.writeHead(this.blobs.has(`${m[1]} ${m[2]}`) ? 200 : 404).end();
    } else if (req.method === "POST" && (m = /^\/v2\/(.+)\/blobs\/uploads\/$/.exec(url.pathname))) {
      const mount = url.searchParams.get("mount");
      const from = url.searchParams.get("from");
      if (mount !== null && !this.declineMount && this.blobs.has(`${from} ${mount}`)) {
        this.blobs.set(`${m[1]} ${mount}`, this.blobs.get(`${from} ${mount}`)!);
        res.writeHead(201, { location: `/v2/${m[1]}/blobs/${mount}` }).end();
      } else {
        res.writeHead(202, { location: `/v2/${m[1]}/blobs/uploads/u1?_state=s` }).end();
      }
    } else if (req.method === "PUT" && (m = /^\/v2\/(.+)\/blobs\/uploads\/u1$/.exec(url.pathname))) {
      const digest = url.searchParams.get("digest") ?? "";
      if (url.searchParams.get("_state") !== "s" || sha(body) !== digest) {
        res.writeHead(400, { "content-type": "application/json" }).end('{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]}');
        return;
      }
      this.blobs.set(`${m[1]} ${digest}`, body);
      res.writeHead(201).end();
    } else if (req.method === "PUT" && (m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(url.pathname))) {
      if (this.failManifest) {
        res.writeHead(400, { "content-type": "application/json" }).end('{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry"}]}');
        return;
      }
      this.manifests.set(`${m[1]}:${m[2]}`, body);
      res.writeHead(201, { "docker-content-digest": sha(body) }).end();
    } else {
      res.writeHead(404).end();
    }
  }
}

let reg: FakeRegistry;
let dir: string;
const layer = Buffer.from("layer bytes");
const config = Buffer.from('{"os":"linux"}');

beforeAll(async () => {
  reg = new FakeRegistry();
  await reg.start();
  dir = await mkdtemp(join(tmpdir(), "tsctl-push-"));
  await writeFile(join(dir, "layer"), layer);
  await writeFile(join(dir, "config"), config);
});
afterAll(async () => {
  await reg.stop();
  await rm(dir, { recursive: true, force: true });
});

function image(mountFrom: string[] = []) {
  const c = { digest: sha(config), size: config.length, mediaType: "application/vnd.docker.container.image.v1+json", path: join(dir, "config") };
  const l = { digest: sha(layer), size: layer.length, mediaType: "application/vnd.docker.image.rootfs.diff.tar", path: join(dir, "layer"), id: "0123456789ab" };
  return { config: c, layers: [l], manifest: schema2Manifest(c, [l]), mountFrom };
}

async function push(ref: string, mountFrom?: string[]) {
  const events: PushProgress[] = [];
  const pusher = createRegistryPusher({ insecure: () => true });
  const res = await pusher.push(`${reg.host}/${ref}`, image(mountFrom), (p) => events.push(p));
  return { res, actions: events.map((e) => (e.from !== undefined ? `${e.action} ${e.from}` : e.action)) };
}

describe("registry pusher", () => {
  it("uploads what is missing, then finds it there, then mounts it into another repository", async () => {
    const first = await push("a/web:1");
    expect(first.actions).toEqual(["preparing", "pushing", "pushed"]);
    expect(first.res.digest).toBe(sha(Buffer.from(image().manifest.bytes)));
    expect(reg.manifests.get("a/web:1")?.equals(Buffer.from(image().manifest.bytes))).toBe(true);
    expect((await push("a/web:2")).actions).toEqual(["preparing", "exists"]);
    expect((await push("b/web:1", ["nothing/here", "a/web"])).actions).toEqual(["preparing", "mounted a/web"]);
  });

  it("uploads into the session a declined mount opened", async () => {
    reg.declineMount = true;
    reg.requests = [];
    try {
      expect((await push("c/web:1", ["a/web"])).actions).toEqual(["preparing", "pushing", "pushed"]);
      expect(reg.requests.filter((r) => r.startsWith("POST"))).toHaveLength(2); // layer (mount declined) + config (mount declined)
      expect(reg.blobs.has(`c/web ${sha(layer)}`)).toBe(true);
    } finally {
      reg.declineMount = false;
    }
  });

  it("turns a refused manifest into one line naming the image", async () => {
    reg.failManifest = true;
    try {
      await expect(push("d/web:1")).rejects.toThrow(`error pushing manifest of ${reg.host}/d/web:1: manifest_blob_unknown: blob unknown to registry`);
    } finally {
      reg.failManifest = false;
    }
  });
});
