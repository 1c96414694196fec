export { NodeCa, defaultNodeCertExpiryMs, hostOf, type IssuedCertificate } from "./node-ca.js";
