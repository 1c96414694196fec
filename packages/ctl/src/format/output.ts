/**
 * Rendering of list commands: the default table, `-q`, `--format json` (a JSON array of rows)
 * and a small Go-template subset (`{{.Field}}`, `{{json .}}`, `{{json .Field}}`, `table` prefix,
 * `\t` / `\n` escapes). Rows are plain objects keyed by Docker's field names.
 */
import { UsageError } from "../errors.js";
import { alignColumns } from "./table.js";

/** Cell is one value of a row; non-strings are rendered with String() in tables. */
export type Cell = string | number | boolean;
export type Row = Record<string, Cell>;

/** Column ties a table header to a row field. */
export interface Column {
  header: string;
  field: string;
}

/** ListOptions are the shared output flags of list commands. */
export interface ListOptions {
  format?: string | undefined;
  quiet?: boolean | undefined;
}

/** renderList returns the text (with trailing newline, or "" when nothing is printed). */
export function renderList(columns: readonly Column[], rows: readonly Row[], opts: ListOptions, quietField = "ID"): string {
  const format = opts.format?.trim();
  if (opts.quiet && !format) return lines(rows.map((r) => String(r[quietField] ?? "")));
  if (!format || format === "table") {
    const table = [columns.map((c) => c.header), ...rows.map((r) => columns.map((c) => String(r[c.field] ?? "")))];
    return lines(alignColumns(table));
  }
  if (format === "json") return JSON.stringify(rows) + "\n";
  if (format.startsWith("table")) {
    const template = unescape(format.slice("table".length).trim());
    const headerRow = Object.fromEntries(columns.map((c) => [c.field, c.header]));
    const header = expand(template, headerRow, (field) => headerRow[field] ?? headerFor(field), true);
    const body = rows.map((r) => expand(template, r, (f) => fieldOf(r, f), false));
    return lines(alignColumns([header, ...body].map((l) => l.split("\t"))));
  }
  const template = unescape(format);
  return lines(rows.map((r) => expand(template, r, (f) => fieldOf(r, f), false)));
}

/** renderJson prints objects the way `inspect` does: an indented JSON array. */
export function renderJson(objects: readonly unknown[]): string {
  return JSON.stringify(objects, null, 4) + "\n";
}

/** renderObjectTemplate applies a template to each inspected object (`inspect --format`). */
export function renderObjectTemplate(format: string, objects: readonly Record<string, unknown>[]): string {
  const template = unescape(format);
  return lines(objects.map((o) => expand(template, o, (f) => lookupPath(o, f), false)));
}

function lines(items: readonly string[]): string {
  return items.length === 0 ? "" : items.join("\n") + "\n";
}

function unescape(template: string): string {
  return template.replace(/\\t/g, "\t").replace(/\\n/g, "\n");
}

function fieldOf(row: Record<string, unknown>, field: string): unknown {
  if (!(field in row)) throw new UsageError(`template: can't evaluate field ${field}`);
  return row[field];
}

function lookupPath(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object" || !(part in cur)) {
      throw new UsageError(`template: can't evaluate field ${part}`);
    }
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

// "CurrentState" -> "CURRENT STATE", used for template columns with no known header.
function headerFor(field: string): string {
  return field.replace(/([a-z])([A-Z])/g, "$1 $2").toUpperCase();
}

function show(value: unknown): string {
  if (value === undefined || value === null) return "<no value>";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function expand(template: string, row: Record<string, unknown>, get: (field: string) => unknown, header: boolean): string {
  return template.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_m, expr: string) => {
    const json = /^json\s+(.+)$/.exec(expr);
    const target = (json ? json[1]! : expr).trim();
    if (target === ".") return header ? "" : JSON.stringify(row);
    if (!target.startsWith(".")) throw new UsageError(`template: unsupported expression "${expr}"`);
    const value = get(target.slice(1));
    if (header) return String(value);
    return json ? JSON.stringify(value) : show(value);
  });
}
