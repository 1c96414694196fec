/**
 * Option helpers shared by command modules: repeatable flags and the flags `service create` and
 * `service update` have in common (declared once so both stay in step).
 */
import type { Command } from "commander";

/** collect accumulates a repeatable flag into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** addOutputOptions declares -q and --format for list commands. */
export function addOutputOptions(cmd: Command, quietHelp = "Only display IDs"): Command {
  return cmd.option("-q, --quiet", quietHelp).option("--format <string>", "Format output using a custom template ('table', 'json' or '{{.Field}}')");
}

/** addServiceOptions declares the spec flags shared by `service create` and `service update`. */
export function addServiceOptions(cmd: Command): Command {
  cmd
    .option("--replicas <uint>", "Number of tasks")
    .option("-w, --workdir <string>", "Working directory inside the container")
    .option("-u, --user <string>", "Username or UID (format: <name|uid>[:<group|gid>])")
    .option("--hostname <string>", "Container hostname")
    .option("--entrypoint <command>", "Overwrite the default ENTRYPOINT of the image")
    .option("--limit-cpu <decimal>", "Limit CPUs")
    .option("--limit-memory <bytes>", "Limit Memory")
    .option("--limit-pids <int>", "Limit maximum number of processes (default 0 = unlimited)")
    .option("--reserve-cpu <decimal>", "Reserve CPUs")
    .option("--reserve-memory <bytes>", "Reserve Memory")
    .option("--restart-condition <string>", 'Restart when condition is met ("none", "on-failure", "any")')
    .option("--restart-delay <duration>", "Delay between restart attempts (ns|us|ms|s|m|h)")
    .option("--restart-max-attempts <uint>", "Maximum number of restarts before giving up")
    .option("--restart-window <duration>", "Window used to evaluate the restart policy (ns|us|ms|s|m|h)")
    .option("--stop-grace-period <duration>", "Time to wait before force killing a container (ns|us|ms|s|m|h)")
    .option("--read-only", "Mount the container's root filesystem as read only")
    .option("--init", "Use an init inside each service container to forward signals and reap processes")
    .option("--replicas-max-per-node <uint>", "Maximum number of tasks per node (default 0 = unlimited)");
  return addPlacementPrefOptions(cmd)
    .option("-d, --detach", "Exit immediately instead of waiting for the service to converge")
    .option("-q, --quiet", "Suppress progress output");
}

/**
 * addPlacementPrefOptions declares Docker's placement-preference flags, which differ by command:
 * `--placement-pref` on create, `--placement-pref-add` / `--placement-pref-rm` on update.
 */
function addPlacementPrefOptions(cmd: Command): Command {
  if (cmd.name() === "update") {
    return cmd
      .option("--placement-pref-add <pref>", "Add a placement preference (spread=node.labels.<key>)", collect)
      .option("--placement-pref-rm <pref>", "Remove a placement preference", collect);
  }
  return cmd.option("--placement-pref <pref>", "Add a placement preference (spread=node.labels.<key>)", collect);
}
