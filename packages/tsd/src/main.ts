/**
 * tsd: the node daemon. Parses flags, starts the Daemon, and stops it cleanly on SIGTERM/SIGINT.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { Daemon, version, type DaemonOptions } from "./daemon.js";
import { createLogger, type Level } from "./logger.js";

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError(`invalid port "${value}"`);
  return n;
}

const program = new Command("tsd")
  .description("tsctl node daemon: runs the worker agent, and the manager on manager nodes")
  .version(version)
  .option("--data-root <dir>", "persistent state (images, containers, etcd)", "/var/lib/tsd")
  .option("--exec-root <dir>", "runtime state (socket, bundles, runc state)", "/run/tsd")
  .option("--cgroup-parent <name>", "cgroup under which containers are placed", "tsd")
  .option("--hostname <name>", "node hostname shown by `node ls` (default: the host's)")
  .option("--etcd-client-port <port>", "etcd client port (default: a free port, chosen at swarm init)", port)
  .option("--etcd-peer-port <port>", "etcd peer port (default: a free port, chosen at swarm init)", port)
  .option("--log-level <level>", "debug, info, warn or error", "info")
  .option("--insecure-registry <host>", "registry (host[:port]) reached over plain HTTP; repeatable", (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option("--registry-certs-dir <dir>", "extra registry CAs as <dir>/<host[:port]>/ca.crt", "/etc/tsd/certs.d")
  .addOption(new Option("--executor <kind>", "container runtime: runc, or fake to simulate containers").choices(["runc", "fake"]).default("runc"));

program.parse();
const { insecureRegistry, ...opts } = program.opts<Omit<DaemonOptions, "logger"> & { logLevel: Level; insecureRegistry: string[] }>();
const logger = createLogger(opts.logLevel);

process.on("unhandledRejection", (err) => logger.error("unhandled rejection", { err: err instanceof Error ? err.stack : String(err) }));

try {
  const daemon = await Daemon.start({ ...opts, insecureRegistries: insecureRegistry, logger });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("stopping", { signal });
    daemon.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error("stop failed", { err });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
} catch (err) {
  logger.error("failed to start", { err: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}
