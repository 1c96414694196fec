/**
 * Streaming tar reading shared by the archive stager and the layer unpacker: sniffs gzip, hashes
 * the uncompressed bytes on the way (the diff_id of a layer), and turns the stream errors of
 * tar-stream and zlib into one-line descriptions.
 */
import type { Hash } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { InvalidArgumentError } from "@tsctl/api";

/** TarEntry is one tar member; its body must be consumed (or resumed) before the next one arrives. */
export type TarEntry = tar.Entry & { header: tar.Headers & { pax?: Record<string, string> } };

/** decompress yields the bytes of source, gunzipped when they start with the gzip magic. */
export async function* decompress(source: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  let first = await it.next();
  while (first.done !== true && first.value.length === 0) first = await it.next();
  if (first.done === true) return;
  const head: Uint8Array = first.value;
  async function* all(): AsyncGenerator<Uint8Array> {
    try {
      yield head;
      for (;;) {
        const n = await it.next();
        if (n.done === true) return;
        yield n.value;
      }
    } finally {
      // A consumer that stops early (bad entry) must still release the source, e.g. close its file.
      await it.return?.();
    }
  }
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) {
    throw new InvalidArgumentError(`${what}: zstd compression is not supported`);
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) {
    yield* all();
    return;
  }
  // Large output chunks: every chunk costs a trip through the async pipeline below.
  const gunzip = createGunzip({ chunkSize: 1 << 18 });
  const feeding = pipeline(Readable.from(all()), gunzip);
  // Errors reach the loop below through gunzip being destroyed; this only avoids an unhandled rejection.
  feeding.catch(() => undefined);
  for await (const chunk of gunzip) yield chunk as Buffer;
  await feeding;
}

/** hashed passes source through while feeding every chunk to hash. */
export async function* hashed(source: AsyncIterable<Uint8Array>, hash: Hash): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

/**
 * readTar calls onEntry for every member of the tar in source, one at a time, and returns once the
 * whole input was consumed; a truncated tar rejects with an InvalidArgumentError naming `what`.
 */
export async function readTar(
  source: AsyncIterable<Uint8Array>,
  what: string,
  onEntry: (entry: TarEntry) => Promise<void>,
): Promise<void> {
  const ex = tar.extract();
  const feeding = pipeline(Readable.from(source), ex);
  feeding.catch(() => undefined);
  try {
    for await (const entry of ex) {
      await onEntry(entry as TarEntry);
      // Skip whatever onEntry left unread, so tar-stream can move to the next header.
      entry.resume();
    }
    await feeding;
  } catch (err) {
    ex.destroy();
    throw toInvalidArchive(err, what);
  }
}

/** toInvalidArchive keeps our own errors and turns stream failures into "<what>: <one line>". */
export function toInvalidArchive(err: unknown, what: string): Error {
  if (err instanceof InvalidArgumentError) return err;
  const e = err as NodeJS.ErrnoException;
  const msg = String(e?.message ?? err);
  if (/unexpected end of data/i.test(msg)) return new InvalidArgumentError(`${what}: unexpected end of tar data`);
  if (e?.code === "Z_BUF_ERROR" || /unexpected end of file/i.test(msg)) {
    return new InvalidArgumentError(`${what}: unexpected end of gzip data`);
  }
  if (typeof e?.code === "string" && e.code.startsWith("Z_")) return new InvalidArgumentError(`${what}: corrupt gzip data`);
  if (/invalid tar header|unknown format|checksum/i.test(msg)) return new InvalidArgumentError(`${what}: ${msg.split("\n")[0]}`);
  return err instanceof Error ? err : new Error(msg);
}
