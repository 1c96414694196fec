/**
 * Address helpers for init and join: Docker's defaults (listen on the advertise address, port
 * 2377) and the local address a node would use to reach a given manager.
 */
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { InvalidArgumentError } from "@tsctl/api";

export const defaultListenPort = 2377;

export interface HostPort {
  host: string;
  port: number;
}

/** parseHostPort reads "host", "host:port", "[v6]:port" or ":port"; a missing part takes the default. */
export function parseHostPort(value: string, defaults: HostPort, what: string): HostPort {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  const m = v6 ?? /^([^:]*)(?::(\d+))?$/.exec(value);
  if (!m) throw new InvalidArgumentError(`invalid ${what} "${value}": want host or host:port`);
  const host = m[1] || defaults.host;
  const port = m[2] === undefined ? defaults.port : Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`invalid ${what} "${value}": bad port`);
  if (!/^[\w.:-]+$/.test(host)) throw new InvalidArgumentError(`invalid ${what} "${value}": bad host`);
  return { host, port };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(":") ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/** portFree tells whether host:port can be bound right now. */
export function portFree(hp: HostPort): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(hp.port, hp.host, () => srv.close(() => resolve(true)));
  });
}

/**
 * localAddressToward finds the source address the kernel picks for traffic to a host, by
 * "connecting" a UDP socket (which sends nothing). Docker asks for --advertise-addr when it cannot
 * guess; a join knows the manager's address, so the route to it answers the question.
 */
export function localAddressToward(host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(host.includes(":") ? "udp6" : "udp4");
    sock.once("error", (err) => {
      sock.close();
      reject(err);
    });
    sock.connect(9, host, () => {
      const addr = sock.address().address;
      sock.close();
      resolve(addr);
    });
  });
}
