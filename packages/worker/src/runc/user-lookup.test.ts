import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveInRoot } from "./rootfs-path.js";
import { resolveUser } from "./user-lookup.js";

describe("resolveUser", () => {
  const root = mkdtempSync(join(tmpdir(), "tsctl-user-"));
  mkdirSync(join(root, "etc"));
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n#bad\nbroken:x:y:z\n");
  writeFileSync(join(root, "etc/group"), "root:x:0:\napp:x:1001:\nstaff:x:50:app,other\naudio:x:63:app\n");
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("maps names, numbers and groups like Docker", async () => {
    expect(await resolveUser(root, "")).toEqual({ uid: 0, gid: 0, additionalGids: [0] });
    expect(await resolveUser(root, "app")).toEqual({ uid: 1000, gid: 1001, additionalGids: [1001, 50, 63] });
    expect(await resolveUser(root, "1000")).toEqual({ uid: 1000, gid: 1001, additionalGids: [1001, 50, 63] });
    expect(await resolveUser(root, "app:staff")).toEqual({ uid: 1000, gid: 50, additionalGids: [50, 63] });
    expect(await resolveUser(root, "4242:77")).toEqual({ uid: 4242, gid: 77, additionalGids: [77] });
  });
  it("fails for unknown names", async () => {
    await expect(resolveUser(root, "ghost")).rejects.toThrow("unable to find user ghost");
    await expect(resolveUser(root, "app:ghosts")).rejects.toThrow("unable to find group ghosts");
  });
  it("never follows a symlink out of the root", async () => {
    const evil = mkdtempSync(join(tmpdir(), "tsctl-evil-"));
    mkdirSync(join(evil, "etc"));
    symlinkSync("/../../usr/../etc/hostname", join(evil, "etc/passwd"));
    symlinkSync("../../../../../../etc/shadow", join(evil, "etc/group"));
    expect(await resolveInRoot(evil, "/etc/passwd")).toBe(join(evil, "etc/hostname"));
    expect(await resolveInRoot(evil, "/etc/group")).toBe(join(evil, "etc/shadow"));
    await expect(resolveUser(evil, "root")).rejects.toThrow("unable to find user root");
    symlinkSync("/etc/loop", join(evil, "etc/loop"));
    await expect(resolveInRoot(evil, "/etc/loop")).rejects.toThrow("too many symlinks");
    rmSync(evil, { recursive: true, force: true });
  });
});
