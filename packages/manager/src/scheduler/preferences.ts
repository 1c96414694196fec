/**
 * Placement preferences, Docker Swarm's `--placement-pref spread=node.labels.<key>`: the spread
 * descriptor names a node label whose distinct values split the nodes into groups that receive a
 * service's tasks evenly. Only node labels can be spread over; Docker's `engine.labels.` describe
 * the Docker daemon, which tsd nodes do not have, so they are refused instead of silently making
 * every node one group.
 */
import { InvalidArgumentError, type PlacementPreference, type TaskSpec } from "@tsctl/api";
import { engineLabelPrefix, nodeLabelPrefix } from "./constraints.js";

const want = "want spread=node.labels.<key>";

/** spreadLabel returns the node label a spread descriptor names, or raises InvalidArgumentError. */
export function spreadLabel(descriptor: string): string {
  const lower = descriptor.toLowerCase();
  if (lower.startsWith(engineLabelPrefix)) {
    throw new InvalidArgumentError(`invalid placement preference: spread=${descriptor}: tsctl nodes have no engine labels (${want})`);
  }
  if (!lower.startsWith(nodeLabelPrefix) || descriptor.length === nodeLabelPrefix.length) {
    throw new InvalidArgumentError(`invalid placement preference: spread=${descriptor} (${want})`);
  }
  // The prefix is matched without regard to case, the label name as written (as in constraints).
  return descriptor.slice(nodeLabelPrefix.length);
}

/** validatePreferences refuses any preference the scheduler could not apply. */
export function validatePreferences(prefs: readonly PlacementPreference[]): void {
  for (const p of prefs) spreadLabel(p.spreadDescriptor);
}

/**
 * spreadLabels returns the labels a task spec spreads over, outermost first. Specs are validated
 * before they are stored, so a descriptor that does not parse comes from before validation: it is
 * skipped, which is what Docker does with one it cannot read (every node falls in one group), and
 * a preference must never keep a task from being placed.
 */
export function spreadLabels(spec: TaskSpec | undefined): string[] {
  const out: string[] = [];
  for (const p of spec?.placement?.preferences ?? []) {
    try {
      out.push(spreadLabel(p.spreadDescriptor));
    } catch {
      // skipped, see above
    }
  }
  return out;
}
