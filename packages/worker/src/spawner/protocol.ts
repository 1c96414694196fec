/**
 * protocol describes the lines exchanged with spawner-main.mjs: one JSON object per line, requests
 * on the helper's stdin and answers on its stdout, matched by id so many can be in flight.
 */

/** RequestBody is a request before the client numbers it. */
export type RequestBody =
  | { op: "run"; file: string; args: readonly string[] }
  | { op: "detached"; file: string; args: readonly string[]; env: Record<string, string>; outPath: string };

/** HelperRequest is one line written to the helper; cancel refers to an earlier request's id. */
export type HelperRequest = (RequestBody & { id: number }) | { id: number; op: "cancel" };

/** RunAnswer reports a finished run; stdout and stderr are base64, since output may not be UTF-8. */
export interface RunAnswer {
  id: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** HelperAnswer is one line read from the helper (the first is always the ready line). */
export type HelperAnswer =
  | { ready: true; pid: number }
  | RunAnswer
  | { id: number; text: string }
  | { id: number; error: { code?: string; message: string } };
