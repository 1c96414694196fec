/**
 * Placement constraints, Docker Swarm's `--constraint "<key> == <value>"`. Values compare without
 * regard to case (label names do not: they are looked up as written), and an attribute the node
 * lacks reads as "", so `==` fails on it and `!=` passes.
 */
import { InvalidArgumentError, NodeRole, type Node, type TaskSpec } from "@tsctl/api";

/** Constraint is one parsed expression, ready to test nodes without further parsing. */
export interface Constraint {
  /** key as the user wrote it, for messages. */
  readonly key: string;
  readonly equal: boolean;
  /** value lower-cased once, so matching a node costs one lower-casing of the node's side. */
  readonly value: string;
  readonly read: (node: Node) => string;
}

// Docker's operators, tried in this order: "a==b!=c" is key "a", value "b!=c" (then refused).
const operators = ["==", "!="] as const;
// Docker's key and value alphabets; values exclude "=", "!", "<", ">", "~" so that operators
// added later cannot change the meaning of an expression accepted today.
const keyPattern = /^[a-z_][a-z0-9\-_.]+$/i;
const valuePattern = /^[a-z0-9:\-_\s.*()?+[\]\\^$|/]+$/i;

/** nodeLabelPrefix starts a key naming a node label (matched without regard to case). */
export const nodeLabelPrefix = "node.labels.";
/** engineLabelPrefix starts a key naming a Docker engine label, which tsd nodes never have. */
export const engineLabelPrefix = "engine.labels.";

/** roleName is the word `node.role` compares with: Docker's enum name, lower-cased. */
function roleName(role: NodeRole): string {
  return role === NodeRole.MANAGER ? "manager" : "worker";
}

const fixedKeys: ReadonlyMap<string, (node: Node) => string> = new Map([
  ["node.id", (n: Node) => n.id],
  ["node.hostname", (n: Node) => n.description?.hostname ?? ""],
  ["node.role", (n: Node) => roleName(n.role)],
  ["node.platform.os", (n: Node) => n.description?.platform?.os ?? ""],
  ["node.platform.arch", (n: Node) => n.description?.platform?.architecture ?? ""],
]);

/** readerFor maps a key to the node attribute it names; undefined for keys we do not know. */
function readerFor(key: string): ((node: Node) => string) | undefined {
  const lower = key.toLowerCase();
  const fixed = fixedKeys.get(lower);
  if (fixed) return fixed;
  if (lower.startsWith(nodeLabelPrefix) && key.length > nodeLabelPrefix.length) {
    const label = key.slice(nodeLabelPrefix.length);
    // Own properties only: a label named "constructor" must not read Object.prototype's.
    return (n) => {
      const labels = n.spec?.annotations?.labels;
      return labels && Object.hasOwn(labels, label) ? labels[label]! : "";
    };
  }
  // Engine labels describe the Docker daemon; tsd reports none, so every one of them is absent.
  if (lower.startsWith(engineLabelPrefix) && key.length > engineLabelPrefix.length) return () => "";
  return undefined;
}

/** parseConstraint parses one expression, raising InvalidArgumentError in Docker's words. */
export function parseConstraint(expr: string): Constraint {
  const op = operators.find((o) => expr.includes(o));
  if (op === undefined) throw new InvalidArgumentError(`constraint expected one operator from ${operators.join(", ")}`);
  const at = expr.indexOf(op);
  const key = expr.slice(0, at).trim();
  const value = expr.slice(at + op.length).trim();
  if (!keyPattern.test(key)) throw new InvalidArgumentError(`key '${key}' is invalid`);
  if (!valuePattern.test(value)) throw new InvalidArgumentError(`value '${value}' is invalid`);
  // Docker accepts unknown keys and then matches no node, leaving tasks pending for ever; a typo
  // such as "node.lables.x" is better refused when the service is created.
  const read = readerFor(key);
  if (!read) throw new InvalidArgumentError(`key '${key}' is invalid`);
  return { key, equal: op === "==", value: value.toLowerCase(), read };
}

/** parseConstraints parses a service's placement constraints; all must hold on a node. */
export function parseConstraints(exprs: readonly string[]): Constraint[] {
  return exprs.map(parseConstraint);
}

/** constraintMatches tests one constraint against one node. */
export function constraintMatches(c: Constraint, node: Node): boolean {
  return (c.read(node).toLowerCase() === c.value) === c.equal;
}

/** nodeMatches says whether a node satisfies every constraint (true for none). */
export function nodeMatches(constraints: readonly Constraint[], node: Node): boolean {
  for (const c of constraints) if (!constraintMatches(c, node)) return false;
  return true;
}

/**
 * placementPredicate parses a task spec's constraints once and returns the node test, or
 * undefined when the spec has none. Specs are validated before they are stored, so a parse
 * failure here means data from before validation: it matches no node, because ignoring the
 * constraints would run the service where its owner said it must not run.
 */
export function placementPredicate(spec: TaskSpec | undefined): ((node: Node) => boolean) | undefined {
  const exprs = spec?.placement?.constraints ?? [];
  if (exprs.length === 0) return undefined;
  let constraints: Constraint[];
  try {
    constraints = parseConstraints(exprs);
  } catch {
    return () => false;
  }
  return (node) => nodeMatches(constraints, node);
}
