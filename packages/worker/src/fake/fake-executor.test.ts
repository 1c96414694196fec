import { create } from "@bufbuild/protobuf";
import { TaskSchema, type Task } from "@tsctl/api";
import { afterEach, describe, expect, it } from "vitest";
import { FakeExecutor } from "./fake-executor.js";

function task(id: string, image = "busybox", labels: Record<string, string> = {}): Task {
  return create(TaskSchema, { id, serviceId: "svc", serviceName: "web", slot: 1, spec: { container: { image, labels } } });
}

const text = (d: Uint8Array): string => new TextDecoder().decode(d);

describe("FakeExecutor", () => {
  let ex: FakeExecutor;
  afterEach(() => ex.dispose());

  it("runs a container through prepare, start, wait and counts calls", async () => {
    ex = new FakeExecutor();
    const c = ex.controller(task("t1"));
    const signal = new AbortController().signal;
    await c.prepare(signal);
    const { pid } = await c.start(signal);
    expect(pid).toBeGreaterThan(0);
    expect((await c.inspect())?.state).toBe("running");
    const waiting = c.wait(signal);
    ex.crash("t1", 137);
    expect(await waiting).toMatchObject({ exitCode: 137, signal: "SIGKILL" });
    expect(ex.calls("prepare", "t1")).toBe(1);
    expect(ex.calls("start")).toBe(1);
    await c.remove();
    expect(await c.inspect()).toBeUndefined();
    expect(await ex.list()).toEqual([]);
  });

  it("rejects prepare for images named bad", async () => {
    ex = new FakeExecutor();
    await expect(ex.controller(task("t1", "bad:1")).prepare(new AbortController().signal)).rejects.toThrow("No such image: bad:1");
  });

  it("exits on its own when labels say so, and shutdown stops with SIGTERM", async () => {
    ex = new FakeExecutor();
    const signal = new AbortController().signal;
    const a = ex.controller(task("a", "x", { "tsctl.fake.exit-after-ms": "5", "tsctl.fake.exit-code": "3" }));
    await a.prepare(signal);
    await a.start(signal);
    expect((await a.wait(signal)).exitCode).toBe(3);
    const b = ex.controller(task("b"));
    await b.prepare(signal);
    await b.start(signal);
    await b.shutdown(1000);
    expect(await b.wait(signal)).toMatchObject({ exitCode: 143, stoppedByUs: true });
  });

  it("kills a SIGTERM-ignoring container after the grace period", async () => {
    ex = new FakeExecutor({ behaviour: () => ({ ignoreSigterm: true }) });
    const c = ex.controller(task("t"));
    const signal = new AbortController().signal;
    await c.prepare(signal);
    await c.start(signal);
    await c.shutdown(5);
    expect((await c.inspect())?.exit?.exitCode).toBe(137);
  });

  it("aborts a hanging prepare and a wait", async () => {
    ex = new FakeExecutor({ behaviour: () => ({ hangPrepare: true }) });
    const ac = new AbortController();
    const p = ex.controller(task("t")).prepare(ac.signal);
    ac.abort();
    await expect(p).rejects.toThrow();
    ex.seed(task("r"), "running");
    const ac2 = new AbortController();
    const w = ex.controller(task("r")).wait(ac2.signal);
    ac2.abort();
    await expect(w).rejects.toThrow();
  });

  it("serves logs with tail and follow", async () => {
    ex = new FakeExecutor({ behaviour: () => ({ logLines: ["one", "two", "three"] }) });
    ex.seed(task("t"), "running");
    const got: string[] = [];
    for await (const l of ex.logs("t", { follow: false, tail: 2 }, new AbortController().signal)) got.push(text(l.data));
    expect(got).toEqual(["two", "three"]);
    const ac = new AbortController();
    const followed: string[] = [];
    const reader = (async () => {
      for await (const l of ex.logs("t", { follow: true, tail: 1 }, ac.signal)) followed.push(text(l.data));
    })();
    await new Promise((r) => setTimeout(r, 5));
    ex.appendLog("t", "four");
    await new Promise((r) => setTimeout(r, 5));
    ex.crash("t", 1);
    await reader;
    expect(followed).toEqual(["three", "four"]);
  });
});
