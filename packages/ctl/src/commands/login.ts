/**
 * `login` and `logout`: the node checks the credentials against the registry (so the same trust
 * settings apply as to pulls), then the CLI keeps them in ~/.tsctl/config.json for later pulls,
 * pushes and --with-registry-auth. Wording follows Docker's.
 */
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import type { Command } from "commander";
import type { Ctx } from "../context.js";
import { UsageError } from "../errors.js";
import { loginKey, removeAuth, storeAuth } from "../registry/config-file.js";
import { configPaths, dockerHubKey } from "../registry/credentials.js";

/** readAll reads a stream to its end (--password-stdin). */
async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString("utf8");
}

/** prompt asks one question on the terminal, echoing the answer only when echo is set. */
async function prompt(ctx: Ctx, question: string, echo: boolean): Promise<string> {
  let muted = false;
  const output = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      if (!muted) ctx.io.out(chunk.toString());
      cb();
    },
  });
  const rl = createInterface({ input: ctx.io.stdin, output, terminal: true });
  try {
    return await new Promise<string>((resolve) => {
      rl.question(question, resolve);
      muted = !echo;
    });
  } finally {
    rl.close();
    if (!echo) ctx.io.out("\n");
  }
}

const display = (key: string) => (key === dockerHubKey ? "docker.io" : key);

export function registerLogin(program: Command, ctx: Ctx): void {
  program
    .command("login")
    .description("Log in to a registry")
    .argument("[server]", "Registry (host[:port]); Docker Hub when omitted")
    .option("-u, --username <string>", "Username")
    .option("-p, --password <string>", "Password")
    .option("--password-stdin", "Take the password from stdin")
    .action(async (server: string | undefined, opts: { username?: string; password?: string; passwordStdin?: boolean }) => {
      if (opts.password !== undefined && opts.passwordStdin) throw new UsageError("--password and --password-stdin are mutually exclusive");
      let { username, password } = opts;
      if (opts.passwordStdin) {
        if (!username) throw new UsageError("Must provide --username with --password-stdin");
        password = (await readAll(ctx.io.stdin)).replace(/\r?\n$/, "");
      } else if (password !== undefined) {
        ctx.io.err("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
      }
      if (!username || password === undefined) {
        if (!ctx.io.stdinIsTty) throw new UsageError("Error: Cannot perform an interactive login from a non TTY device");
        username ||= (await prompt(ctx, "Username: ", true)).trim();
        password ??= await prompt(ctx, "Password: ", false);
      }
      if (!username) throw new UsageError("Error: Non-null Username Required");
      if (!password) throw new UsageError("Error: Non-null Password Required");
      const key = loginKey(server);
      const node = await ctx.session().node();
      const res = await node.login({ server: display(key), username, password });
      const path = configPaths(ctx.io.env)[0] as string;
      storeAuth(path, key, username, password);
      ctx.io.out(`${res.status}\n`);
    });

  program
    .command("logout")
    .description("Log out from a registry")
    .argument("[server]", "Registry (host[:port]); Docker Hub when omitted")
    .action((server: string | undefined) => {
      const key = loginKey(server);
      const path = configPaths(ctx.io.env)[0] as string;
      if (removeAuth(path, key)) ctx.io.out(`Removing login credentials for ${display(key)}\n`);
      else ctx.io.out(`Not logged in to ${display(key)}\n`);
    });
}
