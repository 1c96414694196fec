/**
 * ca is the cluster PKI: the root CA, node certificates and join tokens. It owns creating the CA,
 * signing node certificates from certificate signing requests, reading identity and role from a
 * presented certificate, and making and checking join tokens. It must never let a request choose
 * its own identity or role (those come from the CA side), never store or read anything itself
 * (the CA key lives in the cluster object, which the caller stores), and never log keys or secrets.
 */
export { managerOu, managerSanDns, workerOu, type NodeRoleName } from "./names.js";
export { caDigest, createRootCa, type RootCa } from "./root-ca.js";
export { createCsr } from "./csr.js";
export { issueNodeCertificate, type IssueRequest } from "./issue.js";
export { certificateNeedsRenewal, isIssuedBy, parseNodeCertificate, type NodeIdentity } from "./node-cert.js";
export { joinTokenMatches, makeJoinToken, parseJoinToken } from "./join-token.js";
