import { describe, expect, it } from "vitest";
import { renderList, type Column } from "./output.js";
import { alignColumns } from "./table.js";

const columns: Column[] = [
  { header: "ID", field: "ID" },
  { header: "NAME", field: "Name" },
  { header: "CURRENT STATE", field: "CurrentState" },
];
const rows = [
  { ID: "abc", Name: "web", CurrentState: "Running" },
  { ID: "defghijklmnop", Name: "api", CurrentState: "Failed" },
];

describe("alignColumns", () => {
  it("pads to the widest cell plus 3, minimum 10, and leaves the last column alone", () => {
    expect(alignColumns([["ID", "X"], ["abcdefghijkl", "Y"]])).toEqual(["ID             X", "abcdefghijkl   Y"]);
    expect(alignColumns([["a", "b", "c"]])).toEqual(["a         b         c"]);
  });
});

describe("renderList", () => {
  it("renders the default table", () => {
    expect(renderList(columns, rows, {})).toBe(
      "ID              NAME      CURRENT STATE\nabc             web       Running\ndefghijklmnop   api       Failed\n",
    );
  });
  it("prints ids with -q and json arrays with --format json", () => {
    expect(renderList(columns, rows, { quiet: true })).toBe("abc\ndefghijklmnop\n");
    expect(JSON.parse(renderList(columns, rows, { format: "json" }))).toEqual(rows);
  });
  it("supports field templates, table templates and json functions", () => {
    expect(renderList(columns, rows, { format: "{{.ID}}" })).toBe("abc\ndefghijklmnop\n");
    expect(renderList(columns, rows, { format: "{{.Name}}: {{json .CurrentState}}" })).toBe('web: "Running"\napi: "Failed"\n');
    expect(renderList(columns, rows, { format: "table {{.Name}}\\t{{.CurrentState}}" })).toBe(
      "NAME      CURRENT STATE\nweb       Running\napi       Failed\n",
    );
    expect(() => renderList(columns, rows, { format: "{{.Nope}}" })).toThrow(/can't evaluate field Nope/);
  });
});
