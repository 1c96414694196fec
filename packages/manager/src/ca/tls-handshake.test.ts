import { once } from "node:events";
import type { AddressInfo } from "node:net";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parseNodeCertificate, type NodeIdentity } from "./node-cert.js";
import { createRootCa, type RootCa } from "./root-ca.js";
import { issueTestNode, selfSignedCertificate } from "./testing.js";

// A manager serving mutual TLS as tsd will, and clients holding certificates from our CA, another CA, or none.

/** What the server made of one connection: accepted, with the peer's identity, or refused in the handshake. */
type ServerOutcome = { accepted: NodeIdentity } | { refused: string };

let ca: RootCa;
let server: tls.Server;
let port: number;
const outcomes: ServerOutcome[] = [];
const sockets = new Set<tls.TLSSocket>();

beforeAll(async () => {
  ca = await createRootCa({ clusterId: "cluster-a" });
  const manager = await issueTestNode(ca, { nodeId: "m1", role: "manager", clusterId: "cluster-a", ips: ["127.0.0.1"] });
  const serverOptions = { key: manager.keyPem, cert: manager.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true };
  server = tls.createServer(serverOptions, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    outcomes.push({ accepted: parseNodeCertificate(socket.getPeerCertificate().raw) });
    socket.end("hello");
  });
  server.on("tlsClientError", (err) => outcomes.push({ refused: err.message }));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

/**
 * exchange makes one connection and returns what the client got (the server's greeting, and the
 * error that ended the connection, if any) and what the server made of it. It waits for both
 * sides, so no event of one connection can spill into the next test. With TLS 1.3 the client
 * finishes its side of the handshake before the server has judged the client certificate, so a
 * refused client sees a reset or just the end of the stream; what it never sees is the greeting.
 */
async function exchange(opts: tls.ConnectionOptions): Promise<{ reply: string; error?: Error; server: ServerOutcome }> {
  const seen = outcomes.length;
  const socket = tls.connect({ host: "127.0.0.1", port, ...opts });
  let reply = "";
  let error: Error | undefined;
  socket.setEncoding("utf8");
  socket.on("data", (d: string) => (reply += d));
  socket.on("error", (e) => (error ??= e));
  // Not events.once: it would reject on the error event, and errors are part of the answer here.
  await new Promise((resolve) => socket.on("close", resolve));
  await vi.waitFor(() => expect(outcomes.length).toBeGreaterThan(seen));
  expect(outcomes).toHaveLength(seen + 1);
  return { reply, ...(error ? { error } : {}), server: outcomes[seen]! };
}

describe("mutual TLS with cluster certificates", () => {
  it("lets a worker of the cluster in, and the server reads who it is from the DER the handshake gives it", async () => {
    const worker = await issueTestNode(ca, { nodeId: "w1", role: "worker", clusterId: "cluster-a" });
    const result = await exchange({ key: worker.keyPem, cert: worker.certPem, ca: ca.certPem });
    const identity = { nodeId: "w1", role: "worker", clusterId: "cluster-a" };
    expect(result).toEqual({ reply: "hello", server: { accepted: expect.objectContaining(identity) } });
  });

  it("lets the client check the manager by the tsctl-manager DNS name as well as by its IP", async () => {
    const worker = await issueTestNode(ca, { nodeId: "w2", role: "worker", clusterId: "cluster-a" });
    const byName = await exchange({ key: worker.keyPem, cert: worker.certPem, ca: ca.certPem, servername: "tsctl-manager" });
    expect(byName.reply).toBe("hello");
    const wrongName = await exchange({ key: worker.keyPem, cert: worker.certPem, ca: ca.certPem, servername: "elsewhere" });
    expect(wrongName.reply).toBe("");
    expect(wrongName.error?.message).toMatch(/does not match certificate's altnames/);
  });

  it("refuses a client whose certificate comes from another CA, even one with the same cluster name", async () => {
    const otherCa = await createRootCa({ clusterId: "cluster-a" });
    const intruder = await issueTestNode(otherCa, { nodeId: "w1", role: "manager", clusterId: "cluster-a" });
    const result = await exchange({ key: intruder.keyPem, cert: intruder.certPem, ca: ca.certPem });
    expect(result.reply).toBe("");
    expect(result.server).toHaveProperty("refused");
  });

  it("refuses a client without a certificate, and one with a self-signed certificate of the right shape", async () => {
    const bare = await exchange({ ca: ca.certPem });
    expect(bare.reply).toBe("");
    expect(bare.server).toHaveProperty("refused");

    const self = await selfSignedCertificate([{ CN: ["w1"] }, { OU: ["tsctl-worker"] }, { O: ["cluster-a"] }]);
    const forged = await exchange({ key: self.keyPem, cert: self.certPem, ca: ca.certPem });
    expect(forged.reply).toBe("");
    expect(forged.server).toHaveProperty("refused");
  });

  it("lets the client refuse a server from another CA", async () => {
    const otherCa = await createRootCa({ clusterId: "cluster-a" });
    const worker = await issueTestNode(ca, { nodeId: "w1", role: "worker", clusterId: "cluster-a" });
    const result = await exchange({ key: worker.keyPem, cert: worker.certPem, ca: otherCa.certPem });
    expect(result.reply).toBe("");
    expect(result.error?.message).toMatch(/unable to verify|self.signed|certificate/i);
  });
});
