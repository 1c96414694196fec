/**
 * LeaderClient keeps one Control API client to the current leader (mutual TLS with the node's
 * certificate), replacing it when the leader moves, for the calls a follower forwards.
 */
import { ControlService, createClient } from "@tsctl/api";
import type { NodeCertificateProvider } from "./tls/certificate-provider.js";
import { dialManager, managerChannelCredentials } from "./tls/credentials.js";

type ControlClient = ReturnType<typeof createClient<(typeof ControlService)["method"]>>;

export class LeaderClient {
  private current: { addr: string; client: ControlClient; close(): void } | undefined;

  constructor(private readonly provider: NodeCertificateProvider) {}

  /** to returns the client for the leader at addr, dialling it when the leader changed. */
  to(addr: string): ControlClient {
    if (this.current?.addr !== addr) {
      this.close();
      const channel = dialManager(addr, managerChannelCredentials(this.provider));
      this.current = { addr, client: createClient(ControlService, channel), close: () => channel.close() };
    }
    return this.current.client;
  }

  close(): void {
    this.current?.close();
    this.current = undefined;
  }
}


