import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseK8sLine, readK8sLog } from "./k8s-log.js";

const dec = new TextDecoder();
const dir = mkdtempSync(join(tmpdir(), "tsctl-log-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("k8s-file logs", () => {
  it("parses a line with nanosecond timestamps and spaces in the text", () => {
    const r = parseK8sLine(Buffer.from("2026-11-23T12:17:12.014422044+00:00 stderr F a b  c"));
    expect(r).toMatchObject({ stream: "stderr", partial: false, timestampMs: Date.parse("2026-11-23T12:17:12.014Z") });
    expect(r?.text.toString()).toBe("a b  c");
    expect(parseK8sLine(Buffer.from("2026-11-23T12:17:12Z stdout F"))?.text.length).toBe(0);
    expect(parseK8sLine(Buffer.from("garbage"))).toBeUndefined();
  });

  it("joins partial records, tails, and follows until exited", async () => {
    const path = join(dir, "ctr.log");
    const ts = "2026-11-23T12:00:00.000000001Z";
    writeFileSync(path, `${ts} stdout F one\n${ts} stdout P tw\n${ts} stderr F err\n${ts} stdout F o\n`);
    const all = async (tail: number): Promise<string[]> => {
      const out: string[] = [];
      for await (const l of readK8sLog(path, { follow: false, tail, exited: async () => true }, AbortSignal.timeout(5000))) out.push(dec.decode(l.data));
      return out;
    };
    expect(await all(0)).toEqual(["one", "err", "two"]);
    expect(await all(2)).toEqual(["err", "two"]);

    let exited = false;
    const seen: string[] = [];
    const following = (async () => {
      for await (const l of readK8sLog(path, { follow: true, tail: 1, exited: async () => exited, pollMs: 20 }, AbortSignal.timeout(5000))) seen.push(dec.decode(l.data));
    })();
    await new Promise((r) => setTimeout(r, 100));
    appendFileSync(path, `${ts} stdout F three\n${ts} stdout P unfinished`);
    await new Promise((r) => setTimeout(r, 100));
    appendFileSync(path, `\n`);
    exited = true;
    await following;
    expect(seen).toEqual(["two", "three", "unfinished"]);
  });

  it("stops following quietly on abort", async () => {
    const path = join(dir, "idle.log");
    writeFileSync(path, "");
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const out: unknown[] = [];
    for await (const l of readK8sLog(path, { follow: true, tail: 0, exited: async () => false, pollMs: 20 }, ac.signal)) out.push(l);
    expect(out).toEqual([]);
  });
});
