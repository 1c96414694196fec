import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { freePort, startEtcd, type EtcdHandle, type EtcdOptions } from "./etcd-process.js";
import type { EtcdTls } from "./health.js";
import { localMemberFaultHandling } from "./fault-handling.js";
import { addMember, promoteMember } from "./membership.js";
import { makeTestCa, type TestCa } from "./test-certs.js";

/** TempMember is one member of a TempCluster. */
export interface TempMember {
  readonly name: string;
  readonly handle: EtcdHandle;
  readonly endpoint: string;
  readonly peerUrl: string;
  /** The member's own certificate (also its client certificate); undefined in plain mode. */
  readonly tls: EtcdTls | undefined;
  readonly logFile: string;
  /** An etcd3 client of this member alone, closed by dispose(). */
  readonly client: Etcd3;
}

/** TempClusterOptions: member options every member shares (timing, restart delay, logging). */
export interface TempClusterOptions extends Partial<Omit<EtcdOptions, "name" | "dataDir" | "logFile" | "clientPort" | "peerPort" | "tls">> {
  /** Members started at once (the first new, each next one added through membership). */
  size?: number;
  /** TLS with certificates from a throwaway CA (made with openssl). */
  tls?: boolean;
  /**
   * "join" (default) grows the cluster through addMember like joining managers do; etcd wants
   * every member connected for 5 s before it accepts the next add, so 3 members take ~6 s.
   * "static" starts all members at once with the full --initial-cluster (~1 s).
   */
  bootstrap?: "join" | "static";
}

export type AddOptions = { cert?: EtcdTls; via?: TempMember; learner?: boolean } & Partial<EtcdOptions>;

/**
 * TempCluster is a throwaway etcd cluster on 127.0.0.1 under a temp dir, grown one member at a
 * time through addMember the way joining managers grow the real one. dispose() stops every
 * member it started and removes the directory, also after a failed add.
 */
export interface TempCluster {
  readonly dir: string;
  readonly ca: TestCa | undefined;
  readonly members: TempMember[];
  /**
   * add joins a member (added through `via`, default the first member) and starts it; with
   * learner it is added as a learner and promoted once started.
   */
  add(name: string, opts?: AddOptions): Promise<TempMember>;
  /** etcdClient makes another client of one member (closed by dispose()). */
  etcdClient(member: TempMember, cert?: EtcdTls): Etcd3;
  dispose(): Promise<void>;
}

/** startTempCluster starts `size` members (default 1); the caller must dispose it. */
export async function startTempCluster(opts: TempClusterOptions = {}): Promise<TempCluster> {
  const { size = 1, tls = false, bootstrap = "join", ...shared } = opts;
  const dir = mkdtempSync(join(tmpdir(), "tsctl-etcd-cluster-"));
  const ca = tls ? makeTestCa(join(dir, "pki")) : undefined;
  const members: TempMember[] = [];
  const handles: EtcdHandle[] = [];
  const clients: Etcd3[] = [];

  const etcdClient = (member: TempMember, cert = member.tls): Etcd3 => {
    const c = new Etcd3({
      hosts: [member.endpoint],
      ...(cert && {
        credentials: { rootCertificate: readFileSync(cert.caFile), privateKey: readFileSync(cert.keyFile), certChain: readFileSync(cert.certFile) },
      }),
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 5000 }),
      faultHandling: localMemberFaultHandling,
    });
    clients.push(c);
    return c;
  };

  const start = async (
    name: string,
    extra: Partial<EtcdOptions> & { cert?: EtcdTls },
    initialCluster?: string,
    initialClusterState: "new" | "existing" = initialCluster === undefined ? "new" : "existing",
  ): Promise<TempMember> => {
    const { cert, ...rest } = extra;
    const memberTls = cert ?? ca?.manager(name);
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const logFile = join(dir, `${name}.log`);
    const handle = await startEtcd({
      name,
      dataDir: join(dir, name),
      logFile,
      clientPort,
      peerPort,
      initialClusterState,
      log: () => undefined,
      ...shared,
      ...rest,
      ...(memberTls && { tls: memberTls }),
      ...(initialCluster !== undefined && { initialCluster }),
    });
    handles.push(handle);
    const partial = { name, handle, endpoint: handle.endpoint, peerUrl: handle.peerUrl, tls: memberTls, logFile };
    const member: TempMember = { ...partial, client: etcdClient(partial as TempMember) };
    members.push(member);
    return member;
  };

  const add = async (name: string, extra: AddOptions = {}): Promise<TempMember> => {
    const { via = members[0], learner = false, ...rest } = extra;
    if (via === undefined) return start(name, rest);
    // The peer port must be known before the member exists: addMember registers its URL.
    const peerPort = await freePort();
    const scheme = ca ? "https" : "http";
    const { member, initialCluster } = await addMember(via.client, name, `${scheme}://127.0.0.1:${peerPort}`, { learner });
    const started = await start(name, { ...rest, peerPort }, initialCluster);
    if (learner) await promoteMember(via.client, member.id);
    return started;
  };

  let disposed: Promise<void> | undefined;
  const dispose = (): Promise<void> =>
    (disposed ??= (async () => {
      for (const c of clients.splice(0)) c.close();
      // One at a time: stopped together, a raft leader tries to hand over to members that are
      // stopping as well and waits etcd's request timeout (7 s) before it exits.
      for (const h of handles.splice(0).reverse()) await h.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    })());

  try {
    if (bootstrap === "static" && size > 1) {
      const names = Array.from({ length: size }, (_, i) => `m${i + 1}`);
      const peerPorts = await Promise.all(names.map(() => freePort()));
      const scheme = ca ? "https" : "http";
      const initialCluster = names.map((n, i) => `${n}=${scheme}://127.0.0.1:${peerPorts[i]}`).join(",");
      // All at once: each member is ready only when a quorum is up.
      await Promise.all(names.map((n, i) => start(n, { peerPort: peerPorts[i]! }, initialCluster, "new")));
      members.sort((a, b) => a.name.localeCompare(b.name));
    } else {
      for (let i = 1; i <= size; i++) await add(`m${i}`);
    }
  } catch (err) {
    await dispose();
    throw err;
  }
  return { dir, ca, members, add, etcdClient, dispose };
}
