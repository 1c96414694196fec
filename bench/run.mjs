#!/usr/bin/env node
// npm run bench [-- NAME...]: runs the named benchmarks (all when none is named). Each prints a
// table of times and ratios against a baseline measured in the same run on this machine.
const benches = {
  create: () => import("./create.mjs"),
  failover: () => import("./failover.mjs"),
  pull: () => import("./pull.mjs"),
};
const names = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const selected = names.length ? names : Object.keys(benches);
for (const name of selected) {
  const load = benches[name];
  if (!load) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(benches).join(", ")}`);
    process.exit(1);
  }
  const mod = await load();
  await mod.run(process.argv.slice(2));
}
