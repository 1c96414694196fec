import { readFileSync } from "node:fs";
import { request } from "node:https";
import { afterEach, describe, expect, it } from "vitest";
import { Etcd3 } from "etcd3";
import { EtcdBackend } from "../store/etcd-backend.js";
import { etcdArgs } from "./etcd-process.js";
import { getHealth, isHealthy, tlsOptions, type EtcdTls } from "./health.js";
import { startTempCluster, type TempCluster } from "./temp-cluster.js";

/** peerGet makes one request to a member's peer listener with the given client certificate. */
function peerGet(peerUrl: string, cert: EtcdTls): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL("/version", peerUrl), { ...tlsOptions(cert), agent: false, timeout: 3000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

describe("etcd over TLS", () => {
  let cluster: TempCluster | undefined;
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
    await cluster?.dispose();
    cluster = undefined;
  });

  it("passes the TLS flags, clients on loopback, peers on peerHost", () => {
    const tls = { certFile: "/c.crt", keyFile: "/c.key", caFile: "/ca.crt" };
    const args = etcdArgs({
      name: "m1",
      dataDir: "/d",
      clientPort: 1,
      peerPort: 2,
      host: "10.0.0.5",
      peerHost: "10.0.0.5",
      initialClusterState: "new",
      logFile: "/l",
      tls,
      heartbeatIntervalMs: 50,
      electionTimeoutMs: 500,
    });
    expect(args).toEqual(
      expect.arrayContaining([
        "--listen-client-urls=https://127.0.0.1:1",
        "--advertise-client-urls=https://127.0.0.1:1",
        "--listen-peer-urls=https://10.0.0.5:2",
        "--initial-advertise-peer-urls=https://10.0.0.5:2",
        "--initial-cluster=m1=https://10.0.0.5:2",
        "--client-cert-auth",
        "--peer-client-cert-auth",
        "--trusted-ca-file=/ca.crt",
        "--peer-trusted-ca-file=/ca.crt",
        "--cert-file=/c.crt",
        "--peer-key-file=/c.key",
        "--peer-cert-allowed-hostname=tsctl-manager",
        "--heartbeat-interval=50",
        "--election-timeout=500",
      ]),
    );
  });

  it("serves the store to a client with a certificate and refuses one without", async () => {
    cluster = await startTempCluster({ tls: true });
    const m1 = cluster.members[0]!;
    expect(m1.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const backend = new EtcdBackend({ endpoints: [m1.endpoint], tls: m1.tls!, callTimeoutMs: 3000 });
    closers.push(() => backend.close());
    const put = await backend.txn([], [{ type: "put", key: "/tsctl/v1/x", value: new Uint8Array([1, 2]) }]);
    expect(put.succeeded).toBe(true);
    expect((await backend.list("/tsctl/v1/")).kvs.map((kv) => kv.key)).toEqual(["/tsctl/v1/x"]);

    // The certificate checked against the manager name instead of the address works too.
    const named = new EtcdBackend({ endpoints: [m1.endpoint], tls: { ...m1.tls!, serverName: "tsctl-manager" }, callTimeoutMs: 3000 });
    closers.push(() => named.close());
    expect((await named.list("/tsctl/v1/")).kvs).toHaveLength(1);

    // Trusting the CA but presenting no certificate: the handshake fails.
    const anonymous = new Etcd3({
      hosts: [m1.endpoint],
      credentials: { rootCertificate: readFileSync(m1.tls!.caFile) },
      defaultCallOptions: () => ({ deadline: Date.now() + 2000 }),
      faultHandling: { host: () => ({ execute: (fn: () => unknown) => fn() }) as never },
    });
    closers.push(() => anonymous.close());
    await expect(anonymous.get("/tsctl/v1/x").string()).rejects.toThrow();
    // Plain http against the TLS port fails as well.
    await expect(getHealth(m1.endpoint.replace("https:", "http:"), undefined)).rejects.toThrow();
    expect(isHealthy(await getHealth(m1.endpoint, m1.tls))).toBe(true);
  }, 30_000);

  it("lets a manager certificate reach the peer port and refuses a worker's", async () => {
    cluster = await startTempCluster({ tls: true });
    const m1 = cluster.members[0]!;
    expect(await peerGet(m1.peerUrl, cluster.ca!.manager("other-manager"))).toBe(200);
    await expect(peerGet(m1.peerUrl, cluster.ca!.worker("some-worker"))).rejects.toThrow(/certificate|socket hang up|ECONNRESET/i);
  }, 30_000);
});
