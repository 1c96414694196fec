import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { DirectSpawner } from "./direct-spawner.js";
import { HelperSpawner } from "./helper-spawner.js";

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
const dir = mkdtempSync(join(tmpdir(), "tsctl-spawner-"));
const spawners: HelperSpawner[] = [];
const started: number[] = [];

function helper(script?: string): HelperSpawner {
  const s = script === undefined ? new HelperSpawner() : new HelperSpawner(script);
  spawners.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(spawners.splice(0).map((s) => s.dispose()));
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

describe.each([
  ["helper", () => helper()],
  ["direct", () => new DirectSpawner()],
])("%s spawner", (_, make) => {
  it("captures exit code and output, including bytes that are not UTF-8", async () => {
    const r = await make().run("sh", ["-c", "printf 'out\\377'; echo err >&2; exit 3"]);
    expect(r).toEqual({ code: 3, signal: null, stdout: "out\ufffd", stderr: "err\n" });
  });

  it("rejects with ENOENT for a missing file", async () => {
    await expect(make().run("/nonexistent/tool", [])).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("kills the child and rejects with AbortError on abort", async () => {
    const t0 = Date.now();
    await expect(make().run("sleep", ["10"], { signal: AbortSignal.timeout(100) })).rejects.toMatchObject({ name: "AbortError" });
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it("starts a detached child in its own session and returns its first sync message", async () => {
    const out = join(dir, `out-${Math.random()}`);
    const script = 'echo to-out; echo "{\\"data\\": $$, \\"pipe\\": \\"$_OCI_SYNCPIPE\\"}" >&3; echo second >&3; exec sleep 30';
    const text = await make().startDetached("sh", ["-c", script], { env: { _OCI_SYNCPIPE: "3" }, outPath: out, signal: AbortSignal.timeout(5000) });
    const msg = JSON.parse(text.split("\n")[0] as string) as { data: number; pipe: string };
    started.push(msg.data);
    expect(msg.pipe).toBe("3");
    // Field 6 of /proc/pid/stat is the session id: a new session is led by the child itself.
    expect(readFileSync(`/proc/${msg.data}/stat`, "utf8").split(") ")[1]?.split(" ")[3]).toBe(String(msg.data));
    expect(readFileSync(out, "utf8")).toBe("to-out\n");
  });

  it("reports EOF on the sync pipe as an empty message", async () => {
    const text = await make().startDetached("true", [], { env: {}, outPath: join(dir, "eof"), signal: AbortSignal.timeout(5000) });
    expect(text).toBe("");
  });
});

describe("HelperSpawner", () => {
  it("runs many requests concurrently in one helper", async () => {
    const s = helper();
    const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => s.run("sh", ["-c", `sleep 0.2; echo ${i}`])));
    expect(rs.map((r) => r.stdout)).toEqual(Array.from({ length: 40 }, (_, i) => `${i}\n`));
    expect(s.usingHelper).toBe(true);
    expect(s.helperPid).not.toBe(process.pid);
  });

  it("leaves detached children running when the helper ends", async () => {
    const s = helper();
    const text = await s.startDetached("sh", ["-c", 'echo "{\\"data\\": $$}" >&3; exec sleep 30'], {
      env: {},
      outPath: join(dir, "keep"),
      signal: AbortSignal.timeout(5000),
    });
    const pid = (JSON.parse(text) as { data: number }).data;
    started.push(pid);
    const helperPid = s.helperPid as number;
    await s.dispose();
    expect(alive(helperPid)).toBe(false);
    expect(alive(pid)).toBe(true);
  });

  it("fails in-flight requests when the helper dies, then starts a new one", async () => {
    const s = helper();
    await s.run("true", []);
    const first = s.helperPid as number;
    const slow = s.run("sleep", ["5"]);
    await sleep(100);
    process.kill(first, "SIGKILL");
    await expect(slow).rejects.toThrow(/spawner helper exited \(SIGKILL\) while running sleep 5/);
    expect((await s.run("echo", ["again"])).stdout).toBe("again\n");
    expect(s.helperPid).not.toBe(first);
  });

  it("runs directly when the helper cannot come up", async () => {
    const broken = join(dir, "broken.mjs");
    writeFileSync(broken, "process.exit(7);\n");
    const s = helper(broken);
    for (let i = 0; i < 4; i++) expect((await s.run("echo", [String(i)])).stdout).toBe(`${i}\n`);
    expect(s.usingHelper).toBe(false);
  });

  it("rejects a detached start with the abort reason and leaves the child be", async () => {
    const ac = new AbortController();
    const p = helper().startDetached("sleep", ["0.3"], { env: {}, outPath: join(dir, "abort"), signal: ac.signal });
    ac.abort(new Error("stop waiting"));
    await expect(p).rejects.toThrow("stop waiting");
  });
});

process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
