/**
 * CertificateRenewer keeps the node's certificate fresh: it asks a manager for a new one (same
 * node id, the role the cluster wants now) when half of the validity is gone, checking every
 * hour, and on demand when the node's role changes. The new certificate is saved first and then
 * swapped into every listener and channel through the provider.
 */
import { NodeCAService, createClient, type IssueNodeCertificateResponse } from "@tsctl/api";
import { certificateNeedsRenewal, createCsr } from "@tsctl/manager";
import type { Logger } from "../logger.js";
import { saveCertificates } from "./certificate-files.js";
import type { NodeCertificateProvider } from "./certificate-provider.js";
import { dialManager, managerChannelCredentials } from "./credentials.js";

export class CertificateRenewer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<IssueNodeCertificateResponse> | undefined;

  constructor(
    private readonly dataRoot: string,
    private readonly provider: NodeCertificateProvider,
    /** Address of a manager to ask (the leader when known). */
    private readonly managerAddr: () => string | undefined,
    private readonly log: Logger,
    private readonly checkEveryMs = 3600_000,
  ) {}

  start(): void {
    const check = () => {
      if (certificateNeedsRenewal(this.provider.certificates.certPem)) {
        this.renew().catch((err: unknown) => this.log.warn("certificate renewal failed; will retry", { err: String(err) }));
      }
    };
    this.timer = setInterval(check, this.checkEveryMs);
    this.timer.unref();
    setTimeout(check, 5000).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** renew gets a new certificate now; concurrent callers share one request. */
  renew(at?: string): Promise<IssueNodeCertificateResponse> {
    this.running ??= this.renewOnce(at).finally(() => (this.running = undefined));
    return this.running;
  }

  private async renewOnce(at?: string): Promise<IssueNodeCertificateResponse> {
    const addr = at ?? this.managerAddr();
    if (!addr) throw new Error("no manager is known to renew the certificate with");
    const { keyPem, csrPem } = await createCsr();
    const channel = dialManager(addr, managerChannelCredentials(this.provider));
    try {
      const res = await createClient(NodeCAService, channel).renewNodeCertificate({ csrPem }, { timeoutMs: 15_000 });
      const next = { caCertPem: res.caCertPem, certPem: res.certPem, keyPem };
      await saveCertificates(this.dataRoot, next);
      this.provider.update(next);
      this.log.info("node certificate renewed", { role: res.role });
      return res;
    } finally {
      channel.close();
    }
  }
}
