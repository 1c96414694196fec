// control-probe: calls the Control API (ListNodes) of a manager over TCP with a node's own
// certificate, to show what the manager allows that certificate. Run it inside a host:
//   tc exec w1 -- node test-cluster/control-probe.mjs <host data root> <manager host:port>
// Prints one JSON line: {"ok":true,"nodes":N} (exit 0), or {"ok":false,"status":"PERMISSION_DENIED",
// "code":7,"message":...} (exit 2) for a gRPC error, so callers see the raw status, not a mapped one.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { grpc, ControlService } from "@tsctl/api";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [dataRoot, target] = process.argv.slice(2);
if (!dataRoot || !target) {
  process.stderr.write("usage: control-probe.mjs <host data root> <manager host:port>\n");
  process.exit(64);
}
const certs = join(dataRoot, "swarm", "certificates");
const read = (f) => readFileSync(join(certs, f));
// The chain is verified against the swarm's CA; the server's name is not what is probed here.
const creds = grpc.credentials.createSsl(read("swarm-root-ca.crt"), read("swarm-node.key"), read("swarm-node.crt"), {
  checkServerIdentity: () => undefined,
});
const client = new grpc.Client(target, creds);
const method = ControlService.method.listNodes;
const statusName = (code) => Object.keys(grpc.status).find((k) => grpc.status[k] === code) ?? String(code);

client.makeUnaryRequest(
  `/${ControlService.typeName}/${method.name}`,
  (msg) => Buffer.from(toBinary(method.input, msg)),
  (buf) => fromBinary(method.output, buf),
  create(method.input, {}),
  new grpc.Metadata(),
  { deadline: Date.now() + 15_000 },
  (err, res) => {
    if (err) {
      console.log(JSON.stringify({ ok: false, status: statusName(err.code), code: err.code, message: err.details ?? err.message }));
      process.exitCode = 2;
    } else {
      console.log(JSON.stringify({ ok: true, nodes: res.nodes.length }));
    }
    client.close();
  },
);
