import { randomBytes } from "node:crypto";

/**
 * randomSerial returns a random 16-byte certificate serial number as hex. The top bit is cleared
 * so the DER INTEGER is positive without a sign byte, and the first byte is never zero so the
 * encoding stays exactly 16 bytes (RFC 5280 asks for positive serials of at most 20 octets).
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) || 0x01;
  return bytes.toString("hex");
}
