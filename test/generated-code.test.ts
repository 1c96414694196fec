/**
 * The generated API code in packages/api/src/gen must be exactly what `npm run gen` makes from
 * proto/: nobody edits it by hand, and a proto change without regeneration fails here.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import { repoRoot } from "./harness/tsd-node.js";

const run = promisify(execFile);
let dir: string | undefined;

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("matches a fresh generation from proto/", async () => {
  dir = await mkdtemp(join(tmpdir(), "tsctl-gen-"));
  const template = (await readFile(join(repoRoot, "buf.gen.yaml"), "utf8")).replace("out: packages/api/src/gen", `out: ${dir}`);
  await writeFile(join(dir, "buf.gen.yaml"), template);
  const bin = join(repoRoot, "node_modules/.bin");
  await run(join(bin, "buf"), ["generate", "proto", "--template", join(dir, "buf.gen.yaml")], {
    cwd: repoRoot,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
  });
  const genDir = join(repoRoot, "packages/api/src/gen/tsctl/v1");
  const files = (await readdir(genDir)).sort();
  expect((await readdir(join(dir, "tsctl/v1"))).sort()).toEqual(files);
  for (const f of files) {
    expect(await readFile(join(dir, "tsctl/v1", f), "utf8"), f).toBe(await readFile(join(genDir, f), "utf8"));
  }
});
