/**
 * The `service ps` view of tasks: Docker's task names (`web.1`, global `web.<node>`), ordering
 * (by service, slot, then newest first) with older tasks of a slot drawn as ` \_ web.1` history
 * rows, and the state/error columns worded as Docker words them.
 */
import { TaskState, shortId, type Task } from "@tsctl/api";
import type { Column, Row } from "../format/output.js";
import { capitalize, ellipsis, humanDuration } from "../util/human.js";

/** taskColumns are the `service ps` table columns. */
export const taskColumns: Column[] = [
  { header: "ID", field: "ID" },
  { header: "NAME", field: "Name" },
  { header: "IMAGE", field: "Image" },
  { header: "NODE", field: "Node" },
  { header: "DESIRED STATE", field: "DesiredState" },
  { header: "CURRENT STATE", field: "CurrentState" },
  { header: "ERROR", field: "Error" },
  { header: "PORTS", field: "Ports" },
];

// Docker truncates task errors in tables to keep rows on one line.
const maxErrLength = 30;

/** stateName is the lowercase name of a task state ("running"). */
export function stateName(state: TaskState): string {
  return (TaskState[state] ?? "unknown").toLowerCase();
}

/** taskName is Docker's task name: service.slot, or service.nodeId for global tasks. */
export function taskName(t: Task): string {
  return t.slot > 0 ? `${t.serviceName}.${t.slot}` : `${t.serviceName}.${t.nodeId}`;
}

/** sortTasks orders by service name, then slot (or node), then newest first within a slot. */
export function sortTasks(tasks: readonly Task[]): Task[] {
  return [...tasks].sort((a, b) => {
    if (a.serviceName !== b.serviceName) return a.serviceName < b.serviceName ? -1 : 1;
    if (a.slot !== b.slot) return a.slot < b.slot ? -1 : 1;
    if (a.slot === 0 && a.nodeId !== b.nodeId) return a.nodeId < b.nodeId ? -1 : 1;
    return createdAt(b) - createdAt(a);
  });
}

/** TaskViewOptions are what the rows need besides the tasks themselves. */
export interface TaskViewOptions {
  /** Hostnames by node id, for the NODE column. */
  hostnames: ReadonlyMap<string, string>;
  nowMs: number;
  noTrunc: boolean;
}

/** taskRows renders sorted tasks as `service ps` rows, marking older tasks of a slot as history. */
export function taskRows(tasks: readonly Task[], opts: TaskViewOptions): Row[] {
  let previous = "";
  return sortTasks(tasks).map((t) => {
    const name = taskName(t);
    const shown = name === previous ? ` \\_ ${name}` : name;
    previous = name;
    const image = t.spec?.container?.image ?? "";
    return {
      ID: opts.noTrunc ? t.id : shortId(t.id),
      Name: shown,
      Image: opts.noTrunc ? image : image.replace(/@sha256:[0-9a-f]+$/, ""),
      Node: opts.hostnames.get(t.nodeId) ?? "",
      DesiredState: capitalize(stateName(t.desiredState)),
      CurrentState: currentState(t, opts.nowMs),
      Error: errorText(t.status?.err ?? "", opts.noTrunc),
      Ports: "",
    };
  });
}

/** currentState reads like "Running 3 seconds ago". */
export function currentState(t: Task, nowMs: number): string {
  const state = t.status?.state ?? TaskState.NEW;
  const since = Number(t.status?.timestampMs || t.meta?.updatedAtMs || 0);
  const elapsed = since > 0 ? humanDuration(Math.max(0, nowMs - since)).toLowerCase() : "less than a second";
  return `${capitalize(stateName(state))} ${elapsed} ago`;
}

function errorText(err: string, noTrunc: boolean): string {
  const text = noTrunc ? err : ellipsis(err, maxErrLength);
  return text === "" ? "" : `"${text}"`;
}

function createdAt(t: Task): number {
  return Number(t.meta?.createdAtMs ?? 0);
}
