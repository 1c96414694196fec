import { readFile } from "node:fs/promises";

/** WANTED_NOFILE is the open-files limit Docker gives containers (RLIMIT_NOFILE 1048576). */
export const WANTED_NOFILE = 1_048_576;

const CAP_SYS_RESOURCE = 24n;

/**
 * nofileLimit is the RLIMIT_NOFILE to give containers: 1048576 when we may raise hard limits
 * (CAP_SYS_RESOURCE), else our own hard limit, since runc cannot raise it either and setrlimit
 * would fail the create with EPERM (seen here: a root without CAP_SYS_RESOURCE, hard 20000).
 */
export async function nofileLimit(): Promise<number> {
  const [status, limits] = await Promise.all([
    readFile("/proc/self/status", "utf8").catch(() => ""),
    readFile("/proc/self/limits", "utf8").catch(() => ""),
  ]);
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (capEff !== undefined && ((BigInt("0x" + capEff) >> CAP_SYS_RESOURCE) & 1n) === 1n) return WANTED_NOFILE;
  const hard = /^Max open files\s+\S+\s+(\S+)/m.exec(limits)?.[1];
  if (hard === undefined || hard === "unlimited") return WANTED_NOFILE;
  return Math.min(WANTED_NOFILE, Number(hard));
}
