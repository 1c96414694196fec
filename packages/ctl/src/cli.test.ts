/**
 * End-to-end tests of `run` against an in-process fake daemon on a temporary unix socket:
 * real gRPC, canned ControlService / NodeService answers.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import {
  ControlService,
  NodeService,
  NotFoundError,
  TaskState,
  addService,
  grpc,
  type ServerHandlers,
} from "@tsctl/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "./cli.js";
import type { Io } from "./session.js";

const now = Date.UTC(2026, 0, 1);
const service = {
  id: "svc0123456789abcdefghijkl",
  meta: { version: 7, createdAtMs: now - 60_000, updatedAtMs: now - 60_000 },
  specVersion: 1,
  spec: {
    annotations: { name: "web" },
    task: { container: { image: "busybox:latest", args: ["sleep", "1000"] } },
    mode: { case: "replicated" as const, value: { replicas: 2 } },
  },
};
const task = (id: string, slot: number, state: TaskState, createdAgoMs: number, err = "") => ({
  id,
  serviceId: service.id,
  serviceName: "web",
  slot,
  nodeId: "node1",
  desiredState: state === TaskState.RUNNING ? TaskState.RUNNING : TaskState.SHUTDOWN,
  meta: { createdAtMs: now - createdAgoMs },
  spec: service.spec.task,
  status: { state, timestampMs: now - createdAgoMs, err },
});
const tasks = [
  task("task1aaaaaaaaaaaaaaaaaaaa", 1, TaskState.RUNNING, 5000),
  task("task2bbbbbbbbbbbbbbbbbbbb", 2, TaskState.RUNNING, 5000),
  task("task2oldcccccccccccccccccc", 2, TaskState.FAILED, 120_000, "non-zero exit (1)"),
];

function notImplemented(): never {
  throw new Error("not implemented in the fake");
}

function handlersFor<S extends { methods: { localName: string }[] }>(desc: S, given: Record<string, unknown>): never {
  return Object.fromEntries(desc.methods.map((m) => [m.localName, given[m.localName] ?? notImplemented])) as never;
}

const control: Partial<ServerHandlers<(typeof ControlService)["method"]>> = {
  async getService(req) {
    if (req.serviceId === "web" || service.id.startsWith(req.serviceId)) return { service };
    throw new NotFoundError(`service ${req.serviceId} not found`);
  },
  async listServices() {
    return { services: [{ service, runningTasks: 2, desiredTasks: 2 }] };
  },
  async listTasks() {
    return { tasks };
  },
  async listNodes() {
    return { nodes: [{ id: "node1", description: { hostname: "host-a" } }] };
  },
  async createService() {
    return { service };
  },
};
const node: Partial<ServerHandlers<(typeof NodeService)["method"]>> = {
  async info() {
    return { nodeId: "node1", version: "0.1.0", swarmState: "active" };
  },
};

let dir: string;
let server: grpc.Server;
let host: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tsctl-cli-"));
  host = `unix://${join(dir, "tsd.sock")}`;
  server = new grpc.Server();
  addService(server, ControlService, handlersFor(ControlService, control));
  addService(server, NodeService, handlersFor(NodeService, node));
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(host, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
});

afterAll(() => {
  server.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

async function tsctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    outBytes: (b) => void (out += Buffer.from(b).toString()),
    errBytes: (b) => void (err += Buffer.from(b).toString()),
    isTty: false,
    stdinIsTty: false,
    stdin: new PassThrough(),
    env: { TSCTL_HOST: host },
    now: () => now,
  };
  const code = await run(args, io);
  return { code, out, err };
}

describe("tsctl against a fake daemon", () => {
  it("lists services as a table", async () => {
    const r = await tsctl("service", "ls");
    expect(r).toEqual({
      code: 0,
      err: "",
      out:
        "ID             NAME      MODE         REPLICAS   IMAGE            PORTS\n" +
        "svc012345678   web       replicated   2/2        busybox:latest   \n",
    });
  });

  it("prints service ps as JSON with Docker's field names", async () => {
    const r = await tsctl("service", "ps", "--format", "json", "web");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual([
      { ID: "task1aaaaaaa", Name: "web.1", Image: "busybox:latest", Node: "host-a", DesiredState: "Running", CurrentState: "Running 5 seconds ago", Error: "", Ports: "" },
      { ID: "task2bbbbbbb", Name: "web.2", Image: "busybox:latest", Node: "host-a", DesiredState: "Running", CurrentState: "Running 5 seconds ago", Error: "", Ports: "" },
      { ID: "task2oldcccc", Name: " \\_ web.2", Image: "busybox:latest", Node: "host-a", DesiredState: "Shutdown", CurrentState: "Failed 2 minutes ago", Error: '"non-zero exit (1)"', Ports: "" },
    ]);
  });

  it("reports an unknown service in one line with exit code 1", async () => {
    expect(await tsctl("service", "ps", "nosuch")).toEqual({ code: 1, out: "", err: "Error: No such service: nosuch\n" });
  });

  it("creates a service and waits for it to converge", async () => {
    const r = await tsctl("service", "create", "--name", "web", "--replicas", "2", "busybox", "sleep", "1000");
    expect(r.code).toBe(0);
    expect(r.out.split("\n")).toEqual([
      service.id,
      "overall progress: 2 out of 2 tasks",
      `1/2: running   [${"=".repeat(50)}>]`,
      `2/2: running   [${"=".repeat(50)}>]`,
      `verify: Service ${service.id} converged`,
      "",
    ]);
  });

  it("marks the local node in node ls", async () => {
    const r = await tsctl("node", "ls", "--format", "{{.ID}} {{.Self}}");
    expect(r.out).toBe("node1 true\n");
  });

  it("rejects bad flag values before calling the daemon", async () => {
    const r = await tsctl("service", "create", "--limit-memory", "12XB", "busybox");
    expect(r).toEqual({ code: 1, out: "", err: `invalid argument "12XB" for "--limit-memory" flag: invalid size: '12XB'\n` });
  });

  it("says when the daemon is not running", async () => {
    const missing = `unix://${join(dir, "missing.sock")}`;
    const r = await tsctl("-H", missing, "service", "ls");
    expect(r).toEqual({ code: 1, out: "", err: `Cannot connect to the tsd daemon at ${missing}. Is the tsd daemon running?\n` });
  });
});
