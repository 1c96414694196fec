/**
 * Blob downloads to files: bytes are hashed as they are written to `<dest>.part`; a cut transfer
 * resumes with a Range request from the bytes already on disk (or starts over when the server
 * ignores Range); 5xx and network failures are retried with a doubling delay. Only a blob whose
 * size and sha256 match reaches dest (fsynced, then renamed); a bad one is removed.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { InvalidArgumentError, TsctlError, UnavailableError } from "@tsctl/api";

const writeBatchBytes = 1 << 20;

/** BlobSource opens the blob, from offset when given; errors it throws are already one-liners. */
export interface BlobSource {
  /** open resolves with a 200/206 response; any other status is turned into an error by the source. */
  open(offset: number, signal?: AbortSignal): Promise<IncomingMessage>;
}

export interface DownloadOptions {
  digest: string;
  size: number;
  dest: string;
  /** Names the image in errors. */
  what: string;
  attempts: number;
  delayMs: number;
  onBytes?: ((n: number) => void) | undefined;
  signal?: AbortSignal | undefined;
  /** Injected for tests; default setTimeout. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** downloadToFile streams the blob to opts.dest as described above. */
export async function downloadToFile(src: BlobSource, opts: DownloadOptions): Promise<void> {
  const part = `${opts.dest}.part`;
  const sleep = opts.sleep ?? defaultSleep;
  const fh = await open(part, "w", 0o600);
  let closed = false;
  try {
    let hash = createHash("sha256");
    let received = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await src.open(received, opts.signal);
        if (received > 0 && !(res.statusCode === 206 && rangeStart(res) === received)) {
          // The server sent the whole blob (or an unexpected range): start over.
          if (res.statusCode === 206) {
            res.destroy();
            throw new UnavailableError(`unexpected Content-Range for blob ${opts.digest}`);
          }
          await fh.truncate(0);
          hash = createHash("sha256");
          received = 0;
          opts.onBytes?.(0);
        }
        // Chunks are gathered into ~1 MiB writes (and progress reports): one thread-pool write
        // and one progress event per 16-64 KiB network chunk cost more than the download itself.
        // What arrived is written even when the connection then breaks, so a resume starts after it.
        opts.onBytes?.(received);
        let pending: Buffer[] = [];
        let pendingBytes = 0;
        const flush = async (): Promise<void> => {
          if (pendingBytes === 0) return;
          const buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
          pending = [];
          pendingBytes = 0;
          await writeAt(fh, buf, received);
          hash.update(buf);
          received += buf.length;
          opts.onBytes?.(received);
        };
        try {
          for await (const chunk of res) {
            const buf = chunk as Buffer;
            if (received + pendingBytes + buf.length > opts.size) {
              res.destroy();
              throw new InvalidArgumentError(`error pulling ${opts.what}: blob ${opts.digest} is larger than its ${opts.size} bytes`);
            }
            pending.push(buf);
            pendingBytes += buf.length;
            if (pendingBytes >= writeBatchBytes) await flush();
          }
        } finally {
          await flush();
        }
        if (received < opts.size) throw new UnavailableError(`blob ${opts.digest}: connection closed after ${received} of ${opts.size} bytes`);
        break;
      } catch (err) {
        if (opts.signal?.aborted === true || !retryable(err) || attempt >= opts.attempts) throw finalError(err, opts);
        await sleep(opts.delayMs * 2 ** (attempt - 1), opts.signal);
      }
    }
    const got = `sha256:${hash.digest("hex")}`;
    if (got !== opts.digest) {
      throw new InvalidArgumentError(`error pulling ${opts.what}: blob ${opts.digest} failed verification: its content hashes to ${got}`);
    }
    await fh.sync();
    await fh.close();
    closed = true;
    await rename(part, opts.dest);
  } catch (err) {
    if (!closed) await fh.close().catch(() => undefined);
    await rm(part, { force: true });
    throw err;
  }
}

/** rangeStart reads the first byte position of a 206's Content-Range ("bytes 100-199/200"). */
function rangeStart(res: IncomingMessage): number | undefined {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers["content-range"] ?? "");
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** retryable: temporary product errors and raw network/stream errors; never our verdicts on content. */
function retryable(err: unknown): boolean {
  if (err instanceof TsctlError) return err.temporary;
  return !(err instanceof Error && err.name === "AbortError");
}

function finalError(err: unknown, opts: DownloadOptions): unknown {
  if (err instanceof TsctlError || opts.signal?.aborted === true) return err;
  return new UnavailableError(`error pulling ${opts.what}: blob ${opts.digest}: ${(err as Error).message}`, err);
}

async function writeAt(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < buf.length) off += (await fh.write(buf, off, buf.length - off, position + off)).bytesWritten;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
