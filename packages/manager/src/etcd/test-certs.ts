import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EtcdTls } from "./health.js";
import { MANAGER_PEER_NAME } from "./etcd-process.js";

/**
 * TestCa is a throwaway ECDSA P-256 CA made with the openssl CLI, for tests that run etcd over
 * TLS. It mirrors what the product's CA issues (manager certificates carry the tsctl-manager DNS
 * SAN, worker certificates do not) without depending on the product's CA module.
 */
export interface TestCa {
  readonly dir: string;
  readonly caFile: string;
  /** A certificate with SANs IP:127.0.0.1 and DNS:tsctl-manager, usable as an etcd member's. */
  manager(cn: string): EtcdTls;
  /** A certificate from the same CA without the manager SAN (IP:127.0.0.1 only). */
  worker(cn: string): EtcdTls;
}

/** makeTestCa writes a CA under dir (created if missing); certificates are valid for one day. */
export function makeTestCa(dir: string): TestCa {
  mkdirSync(dir, { recursive: true });
  const caKey = join(dir, "ca.key");
  const caFile = join(dir, "ca.crt");
  openssl(
    ["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
    ["-keyout", caKey, "-out", caFile, "-days", "1", "-subj", "/CN=tsctl test CA"],
    ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  );
  const issue = (cn: string, sans: string): EtcdTls => {
    const keyFile = join(dir, `${cn}.key`);
    const csr = join(dir, `${cn}.csr`);
    const certFile = join(dir, `${cn}.crt`);
    const ext = join(dir, `${cn}.ext`);
    writeFileSync(
      ext,
      [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=serverAuth,clientAuth",
        `subjectAltName=${sans}`,
      ].join("\n"),
    );
    openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyFile, "-out", csr, "-subj", `/CN=${cn}`]);
    openssl(
      ["x509", "-req", "-in", csr, "-CA", caFile, "-CAkey", caKey, "-days", "1", "-out", certFile],
      ["-set_serial", `0x${randomBytes(8).toString("hex")}`, "-extfile", ext],
    );
    return { certFile, keyFile, caFile };
  };
  return {
    dir,
    caFile,
    manager: (cn) => issue(cn, `IP:127.0.0.1,DNS:${MANAGER_PEER_NAME}`),
    worker: (cn) => issue(cn, "IP:127.0.0.1"),
  };
}

function openssl(...args: string[][]): void {
  execFileSync("openssl", args.flat(), { stdio: ["ignore", "ignore", "pipe"] });
}
