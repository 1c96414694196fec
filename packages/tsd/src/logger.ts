/**
 * Logger writes one line per event to stderr: time, level, component, message, and key=value
 * fields. Small on purpose: tsd's logs are read by people and by journald, not parsed.
 */
export type Level = "debug" | "info" | "warn" | "error";
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
}

export function createLogger(level: Level = "info", component = "tsd", out: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const emit = (lvl: Level, msg: string, fields?: Record<string, unknown>) => {
    if (order[lvl] < order[level]) return;
    const extra = fields
      ? Object.entries(fields)
          .map(([k, v]) => `${k}=${v instanceof Error ? JSON.stringify(v.message) : typeof v === "string" ? JSON.stringify(v) : String(v)}`)
          .join(" ")
      : "";
    out(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} [${component}] ${msg}${extra ? " " + extra : ""}\n`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (c) => createLogger(level, `${component}/${c}`, out),
  };
}
