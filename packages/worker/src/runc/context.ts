import type { ImageStore } from "../images/types.js";
import type { RuncRoots } from "./layout.js";
import type { Spawner } from "../spawner/index.js";
import type { RuncCli } from "./runc-cli.js";

/** RuncContext is what every part of the runc executor shares for one node. */
export interface RuncContext {
  roots: RuncRoots;
  runc: RuncCli;
  /** Starts every process the executor needs (runc, mount, conmon) off tsd's event loop. */
  spawner: Spawner;
  conmonPath: string;
  cgroupParent: string;
  images: ImageStore;
  /** Fetches an image the store lacks (from its registry); without it a missing image fails the task. */
  pullImage?: (ref: string, signal: AbortSignal, credentials?: { username: string; password: string }) => Promise<unknown>;
  /** The resolv.conf copied into containers until the cluster DNS provides one. */
  resolvConfSource: string;
  /** Static init binary bind-mounted for `--init` (Debian's tini-static). */
  initPath: string;
}
