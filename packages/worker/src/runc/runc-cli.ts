import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Spawner } from "../spawner/index.js";
import { checked, runCommand, type CommandResult } from "./run-command.js";

/** RuncState is `runc state`'s answer for one container. */
export interface RuncState {
  id: string;
  pid: number;
  status: "creating" | "created" | "running" | "paused" | "stopped";
  bundle: string;
  created: string;
}

/**
 * RuncCli runs the runc binary against one state root, through the executor's spawner. It never
 * keeps processes of its own: every call runs runc to completion (exec streaming: runc-exec.ts).
 */
export class RuncCli {
  constructor(
    readonly path: string,
    readonly root: string,
    readonly spawner: Spawner,
  ) {}

  /** globalArgs come before the subcommand; JSON logs let errors be reduced to one line. */
  globalArgs(): string[] {
    return ["--root", this.root, "--log-format", "json"];
  }

  run(args: string[], signal?: AbortSignal): Promise<CommandResult> {
    return runCommand(this.path, [...this.globalArgs(), ...args], signal, this.spawner);
  }

  /** state returns undefined when runc does not know the container. */
  async state(id: string, signal?: AbortSignal): Promise<RuncState | undefined> {
    // runc keeps each container's state in <root>/<id>; without it runc could only say "does not
    // exist", and asking costs a fork. This is the common case for every new task (adopt).
    if (!existsSync(join(this.root, id))) return undefined;
    const r = await this.run(["state", id], signal);
    if (r.code !== 0) {
      if (/does not exist|not exist/i.test(r.stderr)) return undefined;
      checked(`runc state ${id}`, r);
    }
    return JSON.parse(r.stdout) as RuncState;
  }

  async list(signal?: AbortSignal): Promise<RuncState[]> {
    const r = checked("runc list", await this.run(["list", "--format", "json"], signal));
    return (JSON.parse(r.stdout) as RuncState[] | null) ?? [];
  }

  async start(id: string, signal?: AbortSignal): Promise<void> {
    checked(`runc start ${id}`, await this.run(["start", id], signal));
  }

  /** kill sends a signal to the init process; false when there was nothing left to signal. */
  async kill(id: string, sig: string, signal?: AbortSignal): Promise<boolean> {
    const r = await this.run(["kill", id, sig], signal);
    if (r.code === 0) return true;
    if (/not running|does not exist|process already finished|container not running/i.test(r.stderr)) return false;
    checked(`runc kill ${id} ${sig}`, r);
    return false;
  }

  /** delete --force kills what is left and removes runc's state and cgroups; absent is fine. */
  async delete(id: string, signal?: AbortSignal): Promise<void> {
    const r = await this.run(["delete", "--force", id], signal);
    if (r.code !== 0 && !/does not exist/i.test(r.stderr)) checked(`runc delete ${id}`, r);
  }
}
