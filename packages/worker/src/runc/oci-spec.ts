import type { ExecUser } from "./user-lookup.js";

/** OciMount is one entry of config.json "mounts". */
export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/** OciSpec is the subset of the OCI runtime spec we write; runc reads it as config.json. */
export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: Record<"bounding" | "effective" | "permitted", string[]>;
    rlimits: { type: string; hard: number; soft: number }[];
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: {
    namespaces: { type: string }[];
    cgroupsPath: string;
    resources: {
      devices: { allow: boolean; type?: string; major?: number; minor?: number; access: string }[];
      memory?: { limit: number };
      cpu?: { quota: number; period: number };
      pids?: { limit: number };
    };
    maskedPaths: string[];
    readonlyPaths: string[];
  };
}

/** SpecInput is everything the bundle depends on, already resolved (user, args, env). */
export interface SpecInput {
  args: string[];
  env: string[];
  cwd: string;
  user: ExecUser;
  hostname: string;
  readOnly: boolean;
  cgroupsPath: string;
  files: { hostname: string; hosts: string; resolvConf: string };
  limits: { nanoCpus: number; memoryBytes: number; pids: number };
  /** RLIMIT_NOFILE (soft = hard); see host-limits.ts for why it is not always 1048576. */
  nofile: number;
  /** Host path of a static init (tini) to run as PID 1 in front of args (`--init`). */
  init?: string;
}

/** INIT_PATH is where `--init` puts the init binary: /dev is a tmpfs, so any image (even a
 * read-only one) can take the bind mount. */
export const INIT_PATH = "/dev/init";

/** DEFAULT_CAPS is Docker's default capability set. */
export const DEFAULT_CAPS = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

/** MASKED_PATHS and READONLY_PATHS are Docker's, hiding host kernel details from containers. */
export const MASKED_PATHS = [
  "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
  "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
];
export const READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** CPU_PERIOD_US is the CFS period Docker uses to express --cpus as a quota. */
export const CPU_PERIOD_US = 100_000;

// Character devices every container may use (null, zero, full, tty, random, urandom, console, ptmx,
// pts); the nodes themselves are created by runc, this only opens the cgroup for them.
const ALLOWED_CHAR_DEVICES: [number, number][] = [[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 1], [5, 2]];

function defaultMounts(files: SpecInput["files"]): OciMount[] {
  const bind = (destination: string, source: string): OciMount => ({
    destination, type: "bind", source, options: ["rbind", "rprivate"],
  });
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
    bind("/etc/hostname", files.hostname),
    bind("/etc/hosts", files.hosts),
    bind("/etc/resolv.conf", files.resolvConf),
  ];
}

function resources(limits: SpecInput["limits"]): OciSpec["linux"]["resources"] {
  const out: OciSpec["linux"]["resources"] = {
    devices: [
      { allow: false, access: "rwm" },
      // mknod of any device is allowed (Docker does too); using one still needs an rw rule.
      { allow: true, type: "c", access: "m" },
      { allow: true, type: "b", access: "m" },
      ...ALLOWED_CHAR_DEVICES.map(([major, minor]) => ({ allow: true, type: "c", major, minor, access: "rwm" })),
      { allow: true, type: "c", major: 136, access: "rwm" },
    ],
  };
  if (limits.memoryBytes > 0) out.memory = { limit: limits.memoryBytes };
  if (limits.nanoCpus > 0) {
    // The kernel refuses quotas under 1ms; Docker rejects such --cpus values, we round up.
    out.cpu = { quota: Math.max(1000, Math.round((limits.nanoCpus * CPU_PERIOD_US) / 1e9)), period: CPU_PERIOD_US };
  }
  if (limits.pids > 0) out.pids = { limit: limits.pids };
  return out;
}

/** buildOciSpec writes the runtime spec for one container; pure, so it is tested without runc. */
export function buildOciSpec(input: SpecInput): OciSpec {
  const user: OciSpec["process"]["user"] = { uid: input.user.uid, gid: input.user.gid };
  if (input.user.additionalGids.length > 0) user.additionalGids = input.user.additionalGids;
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user,
      // tini forwards signals to the command and reaps zombies, as Docker's --init does.
      args: input.init ? [INIT_PATH, "--", ...input.args] : input.args,
      env: input.env,
      cwd: input.cwd === "" ? "/" : input.cwd,
      capabilities: { bounding: DEFAULT_CAPS, effective: DEFAULT_CAPS, permitted: DEFAULT_CAPS },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: input.nofile, soft: input.nofile }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: input.readOnly },
    hostname: input.hostname,
    mounts: input.init
      ? [...defaultMounts(input.files), { destination: INIT_PATH, type: "bind", source: input.init, options: ["rbind", "ro", "rprivate"] }]
      : defaultMounts(input.files),
    linux: {
      // A new network namespace without a path gets only loopback from runc; overlay networks
      // will later hand runc a prepared namespace path instead.
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
      cgroupsPath: input.cgroupsPath,
      resources: resources(input.limits),
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}

/** cgroupsPathFor is runc's cgroupfs-driver path "/<parent>/<id>" (relative to each hierarchy). */
export function cgroupsPathFor(cgroupParent: string, id: string): string {
  const parent = cgroupParent.split("/").filter((p) => p !== "" && p !== "." && p !== "..").join("/");
  return parent === "" ? `/${id}` : `/${parent}/${id}`;
}
