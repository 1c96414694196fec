/**
 * How a fake container behaves, decided per task: from hooks in tests, or from the task's own
 * container labels when a real manager drives simulated nodes (a bench can only speak specs).
 */
import type { Task } from "@tsctl/api";

/** FakeBehaviour is what one fake container does at each step of its life. */
export interface FakeBehaviour {
  /** prepare() rejects with this message (e.g. "No such image: bad"). */
  prepareError?: string;
  /** start() rejects with this message. */
  startError?: string;
  /** prepare() never resolves until its signal aborts. */
  hangPrepare?: boolean;
  /** start() never resolves until its signal aborts. */
  hangStart?: boolean;
  /** The container exits on its own with exitCode after exitAfterMs; absent means it runs forever. */
  exitAfterMs?: number;
  exitCode?: number;
  /** The process ignores SIGTERM: shutdown() kills it (137) after the grace period. */
  ignoreSigterm?: boolean;
  /** Lines the container "prints" on start (stdout). */
  logLines?: string[];
}

/** FAKE_LABEL_PREFIX marks container labels read by behaviourFromLabels. */
export const FAKE_LABEL_PREFIX = "tsctl.fake.";

/**
 * behaviourFromLabels is the default behaviour: images named "bad…" do not exist, and the labels
 * `tsctl.fake.exit-code`, `tsctl.fake.exit-after-ms`, `tsctl.fake.ignore-sigterm`,
 * `tsctl.fake.start-error` configure the rest.
 */
export function behaviourFromLabels(task: Task): FakeBehaviour {
  const spec = task.spec?.container;
  const image = spec?.image ?? "";
  const labels = spec?.labels ?? {};
  const b: FakeBehaviour = {};
  if (image.startsWith("bad")) b.prepareError = `No such image: ${image}`;
  const label = (name: string): string | undefined => labels[FAKE_LABEL_PREFIX + name];
  const exitAfter = label("exit-after-ms");
  if (exitAfter !== undefined) {
    b.exitAfterMs = Number(exitAfter);
    b.exitCode = Number(label("exit-code") ?? "0");
  }
  if (label("ignore-sigterm") === "true") b.ignoreSigterm = true;
  const startError = label("start-error");
  if (startError !== undefined) b.startError = startError;
  return b;
}
