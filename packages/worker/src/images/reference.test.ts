import { describe, expect, it } from "vitest";
import { isTsctlError } from "@tsctl/api";
import { normalizeReference, parseReference } from "./reference.js";

describe("normalizeReference", () => {
  it.each([
    ["busybox", "busybox:latest"],
    ["busybox:1.36", "busybox:1.36"],
    ["library/busybox", "busybox:latest"],
    ["docker.io/library/busybox:latest", "busybox:latest"],
    ["index.docker.io/foo/bar:2", "foo/bar:2"],
    ["foo/bar", "foo/bar:latest"],
    ["registry.local:5000/web", "registry.local:5000/web:latest"],
    ["localhost/app:dev", "localhost/app:dev"],
    ["localhost:5000/a/b/c:v1.2-rc_3", "localhost:5000/a/b/c:v1.2-rc_3"],
    [`busybox@sha256:${"a".repeat(64)}`, `busybox@sha256:${"a".repeat(64)}`],
    [`docker.io/library/busybox:1@sha256:${"b".repeat(64)}`, `busybox@sha256:${"b".repeat(64)}`],
  ])("%s → %s", (input, want) => {
    expect(normalizeReference(input)).toBe(want);
  });

  it.each(["", "Busybox", "busybox:", "busybox:-x", "a//b", "bad_/x", "busybox@sha256:xyz", ":tag", "x/.y"])(
    "rejects %j",
    (input) => {
      let err: unknown;
      try {
        parseReference(input);
      } catch (e) {
        err = e;
      }
      expect(isTsctlError(err, "InvalidArgument")).toBe(true);
    },
  );
});
