/**
 * joinCluster is the joining node's side of `swarm join`: fetch the CA certificate from the
 * manager without trusting it, pin it by the digest in the token, then ask the manager (now
 * verified) to admit this node and sign its certificate. Nothing is written to disk here; the
 * daemon records the membership only once the node is fully up.
 */
import {
  NodeCAService,
  PermissionDeniedError,
  UnavailableError,
  createClient,
  type IssueNodeCertificateResponse,
  type NodeAvailability,
  type NodeDescription,
  type TsctlError,
} from "@tsctl/api";
import { caDigest, createCsr, parseJoinToken } from "@tsctl/manager";
import { dialManager, pinnedChannelCredentials, unverifiedChannelCredentials } from "./tls/credentials.js";
import type { NodeCertificates } from "./tls/certificate-files.js";

export const defaultManagerPort = 2377;

export interface JoinRequest {
  remoteAddr: string;
  token: string;
  /** host:port this node's own listener will be reachable at (managers), or its host (workers). */
  addr: string;
  availability: NodeAvailability;
  description: NodeDescription;
  timeoutMs?: number;
}

export interface Admission {
  certificates: NodeCertificates;
  response: IssueNodeCertificateResponse;
}

/** withDefaultPort adds the manager port to a bare host. */
export function withDefaultPort(addr: string, port = defaultManagerPort): string {
  if (/^\[.*\]:\d+$/.test(addr) || /^[^:]+:\d+$/.test(addr)) return addr;
  return addr.includes(":") && !addr.startsWith("[") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** unreachable turns a transport failure into one line naming the address. */
function unreachable(remote: string, err: unknown): TsctlError {
  const e = err as TsctlError;
  if (e.code && e.code !== "Unavailable" && e.code !== "Internal") return e;
  const raw = e.message ?? String(err);
  // The transport's own text (errno names, resolver chatter) would read as "tsd is down" to the
  // CLI; say what happened in one plain phrase instead.
  const detail = /ECONNREFUSED|No connection established|Failed to connect|connect/i.test(raw)
    ? "no connection could be made (is it a manager, listening there?)"
    : /deadline|timed? ?out/i.test(raw)
      ? "no answer in time"
      : /certificate|TLS|SSL/i.test(raw)
        ? "the TLS handshake failed (not a swarm manager?)"
        : raw.replace(/^\d+ \w+: /, "");
  return new UnavailableError(`cannot reach a swarm manager at ${remote}: ${detail}`);
}

export async function joinCluster(req: JoinRequest): Promise<Admission> {
  const remote = withDefaultPort(req.remoteAddr);
  const { caDigest: pinned } = parseJoinToken(req.token);
  const timeoutMs = req.timeoutMs ?? 10_000;

  const bootstrapChannel = dialManager(remote, unverifiedChannelCredentials());
  let caCertPem: string;
  try {
    const res = await createClient(NodeCAService, bootstrapChannel).getRootCACertificate({}, { timeoutMs }).catch((err: unknown) => {
      throw unreachable(remote, err);
    });
    caCertPem = res.caCertPem;
  } finally {
    bootstrapChannel.close();
  }
  if (!caCertPem || caDigest(caCertPem) !== pinned) {
    throw new PermissionDeniedError(
      `the manager at ${remote} presented a CA certificate that does not match the join token (wrong token, or not the swarm you meant)`,
    );
  }

  const { keyPem, csrPem } = await createCsr();
  const channel = dialManager(remote, pinnedChannelCredentials(caCertPem));
  try {
    const response = await createClient(NodeCAService, channel)
      .issueNodeCertificate({ token: req.token, csrPem, description: req.description, addr: req.addr, availability: req.availability }, { timeoutMs })
      .catch((err: unknown) => {
        throw unreachable(remote, err);
      });
    return { certificates: { caCertPem: response.caCertPem, certPem: response.certPem, keyPem }, response };
  } finally {
    channel.close();
  }
}
