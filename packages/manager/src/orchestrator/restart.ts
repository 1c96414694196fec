import { RestartCondition, TaskState, type Service, type Task } from "@tsctl/api";
import { endedAt, isEnded, observed } from "./task-states.js";

/** DEFAULT_RESTART_DELAY_MS is Docker's restart delay when the policy leaves it unset. */
export const DEFAULT_RESTART_DELAY_MS = 5_000;

/** RestartDecision says whether an ended task gets a replacement, and not before when. */
export type RestartDecision = { restart: true; notBeforeMs: number } | { restart: false; why: string };

/**
 * conditionAllows applies the policy's condition to how a task ended: "any" restarts everything,
 * "on-failure" only failures (FAILED is a non-zero exit, REJECTED a task that could not start),
 * "none" nothing.
 */
export function conditionAllows(condition: RestartCondition, state: TaskState): boolean {
  switch (condition) {
    case RestartCondition.ANY:
      return true;
    case RestartCondition.ON_FAILURE:
      return state === TaskState.FAILED || state === TaskState.REJECTED;
    default:
      return false;
  }
}

/** endedOnItsOwn: a task that finished by itself; SHUTDOWN endings are deliberate stops. */
function endedOnItsOwn(t: Task): boolean {
  const state = observed(t);
  return isEnded(state) && state !== TaskState.SHUTDOWN;
}

/**
 * countAttempts counts earlier restarts in a slot: tasks of the service's current spec version
 * (a spec change starts a fresh count, as in swarmkit) that ended on their own within the window
 * (windowMs 0 = all of the slot's history). SHUTDOWN endings are deliberate stops (scale-down, node
 * loss), not attempts. Two sources, the larger wins: the slot's stored tasks, and the attempt
 * record the ended task carries (restartHistoryMs), which survives the reaper trimming history.
 */
export function countAttempts(service: Service, history: readonly Task[], except: Task, nowMs: number): number {
  const windowMs = service.spec?.task?.restart?.windowMs ?? 0;
  const inWindow = (endMs: number) => windowMs <= 0 || endMs >= nowMs - windowMs;
  const recorded = except.specVersion === service.specVersion ? except.restartHistoryMs.filter(inWindow).length : 0;
  let n = 0;
  for (const t of history) {
    if (t === except || t.specVersion !== service.specVersion) continue;
    if (!endedOnItsOwn(t)) continue;
    if (windowMs > 0 && endedAt(t, nowMs) < nowMs - windowMs) continue;
    n++;
  }
  return Math.max(n, recorded);
}

/**
 * attemptRecord is the restartHistoryMs a replacement of ended inherits: ended's own record plus
 * ended's end, if it ended on its own, trimmed to the window and to the attempts that can matter.
 */
export function attemptRecord(service: Service, ended: Task, nowMs: number): number[] {
  const policy = service.spec?.task?.restart;
  const max = policy?.maxAttempts ?? 0;
  if (max <= 0) return [];
  const windowMs = policy?.windowMs ?? 0;
  const record = ended.specVersion === service.specVersion ? [...ended.restartHistoryMs] : [];
  if (endedOnItsOwn(ended)) record.push(endedAt(ended, nowMs));
  return record.filter((endMs) => windowMs <= 0 || endMs >= nowMs - windowMs).slice(-max);
}

/**
 * restartDecision decides the fate of a slot's task that ended while still desired running. The
 * replacement is due at endedAt + delay, so the decision depends only on stored state and a manager
 * crash between the decision and the restart cannot shorten or lose the delay.
 */
export function restartDecision(service: Service, ended: Task, history: readonly Task[], nowMs: number): RestartDecision {
  const policy = service.spec?.task?.restart;
  const condition = policy?.condition ?? RestartCondition.ANY;
  if (!conditionAllows(condition, observed(ended))) return { restart: false, why: "restart condition not met" };
  const max = policy?.maxAttempts ?? 0;
  if (max > 0 && countAttempts(service, history, ended, nowMs) >= max) return { restart: false, why: "restart attempts exhausted" };
  const delay = policy?.delayMs ?? DEFAULT_RESTART_DELAY_MS;
  return { restart: true, notBeforeMs: endedAt(ended, nowMs) + delay };
}
