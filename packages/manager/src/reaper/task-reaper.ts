import type { Node, Service } from "@tsctl/api";
import { StoreController, type ControllerOptions } from "../controller-loop.js";
import type { ReadTx, Store, StoreEvent } from "../store/types.js";
import { DEFAULT_RETENTION_LIMIT, planReap } from "./plan-reap.js";

/** TaskReaperOptions: retentionLimit (a value, or read on every pass) overrides the cluster's. */
export interface TaskReaperOptions extends ControllerOptions {
  retentionLimit?: number | (() => number);
}

/**
 * TaskReaper deletes tasks planReap gives up on, each guarded by the version it was judged at, so
 * a task that changed meanwhile survives until the next pass looks at it again.
 */
export class TaskReaper extends StoreController {
  constructor(
    store: Store,
    private readonly opts: TaskReaperOptions = {},
  ) {
    super(store, "task reaper", opts);
  }

  protected onEvents(events: StoreEvent[]): void {
    if (events.some((e) => e.kind !== "task" || e.type !== "delete")) this.loop.kick();
  }

  protected async pass(): Promise<undefined> {
    const doomed = this.store.view((tx) => {
      const services = new Map<string, Service>(tx.list("service").map((s) => [s.id, s]));
      const nodes = new Map<string, Node>(tx.list("node").map((n) => [n.id, n]));
      return planReap(tx.list("task"), services, nodes, this.retention(tx));
    });
    if (doomed.length === 0) return undefined;
    await this.store.batch((tx) => {
      for (const t of doomed) {
        const version = t.meta?.version ?? 0;
        if (tx.get("task", t.id)?.meta?.version === version) tx.delete("task", t.id, version);
      }
    });
    return undefined;
  }

  /** retention: the explicit option, else the cluster's limit (0 = unset = Docker's 5; < 0 = keep all). */
  private retention(tx: ReadTx): number {
    const explicit = this.opts.retentionLimit;
    if (explicit !== undefined) return typeof explicit === "function" ? explicit() : explicit;
    const limit = tx.list("cluster")[0]?.spec?.taskHistoryRetentionLimit ?? 0;
    return limit === 0 ? DEFAULT_RETENTION_LIMIT : limit;
  }
}
