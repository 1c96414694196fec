import { describe, expect, it } from "vitest";
import { planRemoval, type RemovalInput } from "./image-remove.js";

const id = `sha256:${"c".repeat(64)}`;
const base: RemovalInput = { input: "a", key: "a:latest", imageId: id, refs: ["a:latest"], force: false, inUse: false };

describe("planRemoval", () => {
  it("untags one of several tags and keeps the image", () => {
    expect(planRemoval({ ...base, refs: ["a:latest", "a:1"] })).toEqual({ untag: ["a:latest"], deleteImage: false });
  });

  it("deletes the image with its last tag, digest references included", () => {
    const refs = ["a:latest", `a@sha256:${"d".repeat(64)}`];
    expect(planRemoval({ ...base, refs })).toEqual({ untag: refs, deleteImage: true });
  });

  it("refuses the last tag of an image in use unless forced, and then keeps the image", () => {
    expect(() => planRemoval({ ...base, inUse: true })).toThrow(
      `conflict: unable to remove repository reference "a" (must force) - a container is using its referenced image cccccccccccc`,
    );
    expect(planRemoval({ ...base, inUse: true, force: true })).toEqual({ untag: ["a:latest"], deleteImage: false });
  });

  it("by id: one repository is fine, several need force", () => {
    const byId = { ...base, input: "cccc", key: undefined };
    expect(planRemoval({ ...byId, refs: ["a:1", "a:2"] })).toEqual({ untag: ["a:1", "a:2"], deleteImage: true });
    expect(() => planRemoval({ ...byId, refs: ["a:1", "b:1"] })).toThrow(
      "conflict: unable to delete cccccccccccc (must be forced) - image is referenced in multiple repositories",
    );
    expect(planRemoval({ ...byId, refs: ["a:1", "b:1"], force: true }).deleteImage).toBe(true);
    expect(() => planRemoval({ ...byId, inUse: true })).toThrow(/image is being used by a container/);
  });
});
