import { readFile } from "node:fs/promises";
import { InvalidArgumentError } from "@tsctl/api";
import { resolveInRoot } from "./rootfs-path.js";

/** ExecUser is the numeric identity a container process runs as. */
export interface ExecUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const NUMERIC = /^[0-9]+$/;

/** parsePasswd reads /etc/passwd lines (name:x:uid:gid:gecos:home:shell), skipping malformed ones. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(":");
    if (f.length < 4 || line.startsWith("#") || !NUMERIC.test(f[2] ?? "") || !NUMERIC.test(f[3] ?? "")) continue;
    out.push({ name: f[0] as string, uid: Number(f[2]), gid: Number(f[3]) });
  }
  return out;
}

/** parseGroup reads /etc/group lines (name:x:gid:member,member). */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(":");
    if (f.length < 3 || line.startsWith("#") || !NUMERIC.test(f[2] ?? "")) continue;
    const members = (f[3] ?? "").split(",").filter((m) => m !== "");
    out.push({ name: f[0] as string, gid: Number(f[2]), members });
  }
  return out;
}

async function readInRoot(rootfs: string, path: string): Promise<string> {
  try {
    return await readFile(await resolveInRoot(rootfs, path), "utf8");
  } catch {
    // An image without /etc/passwd is legal; only named users then fail to resolve.
    return "";
  }
}

/**
 * resolveUser turns Docker's user syntax ("", "name", "uid", "name:group", "uid:gid") into numbers
 * using the container's own /etc/passwd and /etc/group, as Docker does: names must exist, numeric
 * ids need not; supplementary groups are the primary group and the groups listing the user.
 */
export async function resolveUser(rootfs: string, spec: string): Promise<ExecUser> {
  const [userPart = "", groupPart] = spec.split(":", 2);
  const passwd = parsePasswd(await readInRoot(rootfs, "/etc/passwd"));
  const groups = parseGroup(await readInRoot(rootfs, "/etc/group"));
  let entry: PasswdEntry | undefined;
  let uid = 0;
  let gid = 0;
  if (userPart === "") {
    entry = passwd.find((p) => p.uid === 0);
  } else if (NUMERIC.test(userPart)) {
    uid = Number(userPart);
    entry = passwd.find((p) => p.uid === uid);
  } else {
    entry = passwd.find((p) => p.name === userPart);
    if (entry === undefined) throw new InvalidArgumentError(`unable to find user ${userPart}: no matching entries in passwd file`);
  }
  if (entry !== undefined) {
    uid = entry.uid;
    gid = entry.gid;
  }
  if (groupPart !== undefined && groupPart !== "") {
    if (NUMERIC.test(groupPart)) {
      gid = Number(groupPart);
    } else {
      const g = groups.find((x) => x.name === groupPart);
      if (g === undefined) throw new InvalidArgumentError(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = g.gid;
    }
  }
  // Like initgroups(3) and Docker: the primary group first, then every group naming the user.
  const name = entry?.name;
  const member = name === undefined ? [] : groups.filter((g) => g.members.includes(name)).map((g) => g.gid);
  const additionalGids = [gid, ...member];
  return { uid, gid, additionalGids: [...new Set(additionalGids)] };
}
