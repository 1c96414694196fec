/**
 * TLS for node-to-node gRPC. Servers request a client certificate but do not require one, since a
 * joining node has none yet; handlers that need a caller identity check it themselves
 * (peer-identity.ts). Clients verify the server chain against the cluster CA and accept only
 * manager certificates: every node dials managers, and only managers.
 */
import { X509Certificate } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import { dial, grpc } from "@tsctl/api";
import { managerOu } from "@tsctl/manager";
import type { NodeCertificateProvider } from "./certificate-provider.js";

export function serverCredentials(provider: NodeCertificateProvider): grpc.ServerCredentials {
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
}

/**
 * checkManagerIdentity replaces hostname verification: node certificates name a node id, not a
 * host, and a manager may be dialled by any of its addresses. The chain was already verified
 * against the cluster CA; what remains is that the peer is a manager.
 */
export function checkManagerIdentity(_host: string, cert: PeerCertificate): Error | undefined {
  const ou = cert.subject?.OU;
  const ous = Array.isArray(ou) ? ou : [ou];
  return ous.includes(managerOu) ? undefined : new Error(`the server's certificate is not a manager certificate (OU ${String(ou)})`);
}

export function managerChannelCredentials(provider: NodeCertificateProvider): grpc.ChannelCredentials {
  return grpc.experimental.createCertificateProviderChannelCredentials(provider, provider, { checkServerIdentity: checkManagerIdentity });
}

/**
 * pinnedChannelCredentials trusts exactly the given CA (already checked against a join token's
 * digest) and presents no client certificate: the joiner's first authenticated call.
 */
export function pinnedChannelCredentials(caCertPem: string): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(caCertPem), null, null, { checkServerIdentity: checkManagerIdentity });
}

/**
 * unverifiedChannelCredentials is only for fetching the CA certificate before it can be trusted;
 * whatever comes back is accepted only if its digest matches the join token.
 */
export function unverifiedChannelCredentials(): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(null, null, null, { rejectUnauthorized: false, checkServerIdentity: () => undefined });
}

/** certificateFingerprint identifies a DER certificate for caches. */
export function certificateFingerprint(der: Buffer): string {
  return new X509Certificate(der).fingerprint256;
}

/**
 * dialManager opens a TLS channel to a manager. The TLS server name is a fixed word, not the
 * address: node certificates name node ids, identity is checked by checkManagerIdentity, and
 * sending an IP address as SNI is not allowed (RFC 6066). Each channel gets its own connection:
 * grpc-js would otherwise share one between channels with the same credentials, and a channel
 * opened after a promotion would present the worker certificate of the connection it inherited.
 */
export function dialManager(addr: string, credentials: grpc.ChannelCredentials): grpc.Client {
  return dial(addr, credentials, { "grpc.ssl_target_name_override": managerOu, "grpc.use_local_subchannel_pool": 1 });
}
