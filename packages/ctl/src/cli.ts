/**
 * run executes one tsctl invocation: parse the arguments, run the command, print any failure as
 * one line via describeFailure, and return the exit code. It never calls process.exit, so tests
 * run it in-process against a fake daemon.
 */
import { Command, CommanderError } from "commander";
import { registerContainer } from "./commands/container.js";
import { registerImage } from "./commands/image.js";
import { registerLogin } from "./commands/login.js";
import { registerNode } from "./commands/node.js";
import { registerSystemDf } from "./commands/prune-df.js";
import { registerService } from "./commands/service.js";
import { registerSwarm } from "./commands/swarm.js";
import { clientVersion, registerSystem } from "./commands/system.js";
import { Ctx } from "./context.js";
import { resolveHost, type Io } from "./session.js";

/** buildProgram declares every command; handlers share ctx. */
export function buildProgram(ctx: Ctx): Command {
  const program = new Command("tsctl")
    .description("A self-sufficient orchestrator for containers")
    .option("-H, --host <host>", "Daemon socket to connect to (unix:///path or host:port; env TSCTL_HOST)")
    .version(clientVersion, "-v, --version", "Print version information and quit")
    .enablePositionalOptions()
    .showSuggestionAfterError(false);
  registerSwarm(program, ctx);
  registerNode(program, ctx);
  registerService(program, ctx);
  registerContainer(program, ctx);
  registerImage(program, ctx);
  registerLogin(program, ctx);
  registerSystem(program, ctx);
  registerSystemDf(program, ctx);
  configureAll(program, ctx.io);
  return program;
}

// Commander settings are per command, so apply them down the tree: throw instead of exiting,
// print help through Io, and leave error wording to describeFailure.
function configureAll(cmd: Command, io: Io): void {
  cmd.exitOverride();
  cmd.configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), outputError: () => undefined });
  for (const sub of cmd.commands) configureAll(sub, io);
}

/** run parses argv (user arguments only, without node and script) and returns the exit code. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  let program: Command | undefined;
  const ctx = new Ctx(io, () => resolveHost(program?.opts<{ host?: string }>().host, io.env));
  program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return ctx.exitCode;
  } catch (err) {
    // Help and --version arrive as "errors" carrying exit code 0.
    if (err instanceof CommanderError && err.exitCode === 0) return 0;
    if (err instanceof CommanderError && err.code === "commander.help") return 0;
    ctx.report(err);
    return ctx.exitCode || 1;
  } finally {
    ctx.close();
  }
}
