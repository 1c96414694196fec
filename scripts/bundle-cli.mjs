// bundle-cli packs the built CLI (packages/ctl/dist/main.js) and its dependencies into one file,
// packages/ctl/dist/tsctl.mjs. Every `tsctl` run is a fresh Node process, and resolving and
// loading ~200 modules one by one costs ~100 ms of its ~220 ms start; one file halves that.
import { build } from "esbuild";

await build({
  entryPoints: ["packages/ctl/dist/main.js"],
  outfile: "packages/ctl/dist/tsctl.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __tsctlRequire } from 'node:module'; const require = __tsctlRequire(import.meta.url);" },
});
