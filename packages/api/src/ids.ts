import { randomBytes } from "node:crypto";

/** newId returns a 25-character lowercase base-36 id, the shape of Docker's swarm object ids. */
export function newId(): string {
  const bytes = randomBytes(16);
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n.toString(36).padStart(25, "0").slice(-25);
}

/** shortId is the 12-character form shown in tables. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}
