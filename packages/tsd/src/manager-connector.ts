/**
 * ManagerConnector is how the agent reaches the leader: it knows every manager's address (from
 * the join, then from each session), dials the leader it was pointed at, and otherwise walks the
 * list. Channels are mutual TLS with the node's certificate and are kept per address.
 */
import { DispatcherService, createClient, type WeightedPeer } from "@tsctl/api";
import type { SessionCall } from "@tsctl/worker";
import type { NodeCertificateProvider } from "./tls/certificate-provider.js";
import { dialManager, managerChannelCredentials } from "./tls/credentials.js";

export interface ManagerPeer {
  nodeId: string;
  addr: string;
}

export class ManagerConnector {
  private readonly clients = new Map<string, { close(): void; session(): SessionCall }>();
  private managers: ManagerPeer[];
  private preferred: string | undefined;
  private next = 0;
  private current: string | undefined;

  constructor(
    private readonly provider: NodeCertificateProvider,
    managers: ManagerPeer[],
    /** Called when the list changes, so the node remembers it across restarts. */
    private readonly onManagers: (managers: ManagerPeer[]) => void = () => undefined,
  ) {
    this.managers = [...managers];
  }

  get target(): string | undefined {
    return this.current;
  }

  list(): ManagerPeer[] {
    return [...this.managers];
  }

  /** connect opens a session to the preferred manager (the leader, when known), else the next one. */
  connect(): SessionCall {
    let addr = this.preferred;
    this.preferred = undefined;
    if (!addr) {
      if (this.managers.length === 0) throw new Error("no manager address is known");
      addr = this.managers[this.next++ % this.managers.length]!.addr;
    }
    this.current = addr;
    return this.client(addr).session();
  }

  /** redirect points the next connect at the leader a follower named. */
  redirect(leaderAddr: string, managers: WeightedPeer[]): void {
    this.learn(managers);
    if (leaderAddr) this.preferred = leaderAddr;
  }

  /** learn replaces the manager list with the one a manager sent. */
  learn(managers: WeightedPeer[]): void {
    if (managers.length === 0) return;
    const next = managers.map((m) => ({ nodeId: m.nodeId, addr: m.addr }));
    const same = next.length === this.managers.length && next.every((m, i) => m.addr === this.managers[i]!.addr && m.nodeId === this.managers[i]!.nodeId);
    if (same) return;
    this.managers = next;
    for (const [addr, c] of this.clients) {
      if (!next.some((m) => m.addr === addr) && addr !== this.current) {
        c.close();
        this.clients.delete(addr);
      }
    }
    this.onManagers(this.list());
  }

  private client(addr: string) {
    let c = this.clients.get(addr);
    if (!c) {
      const channel = dialManager(addr, managerChannelCredentials(this.provider));
      const dispatcher = createClient(DispatcherService, channel);
      c = { close: () => channel.close(), session: () => dispatcher.session() };
      this.clients.set(addr, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
