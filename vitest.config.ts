import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Tests import workspace packages from source, so they never run against stale dist/ output.
const alias = Object.fromEntries(
  ["api", "manager", "worker", "tsd", "ctl"].map((p) => [
    `@tsctl/${p}`,
    fileURLToPath(new URL(`./packages/${p}/src/index.ts`, import.meta.url)),
  ]),
);

// Unit tests sit beside the code (packages/*/src/**/*.test.ts); integration tests that start real
// etcd, runc, conmon and tsd live in test/ and run one file at a time, since they share the host.
export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["packages/*/src/**/*.test.ts"],
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
