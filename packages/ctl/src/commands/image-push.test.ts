import { describe, expect, it } from "vitest";
import { historyRows } from "./image-history.js";
import { pushedRepository, pushLine } from "./image-push.js";

describe("push output", () => {
  it("prints Docker's words per layer", () => {
    expect(pushLine({ id: "e900cc7d3eab", action: "preparing", mountedFrom: "" })).toBe("e900cc7d3eab: Preparing\n");
    expect(pushLine({ id: "e900cc7d3eab", action: "exists", mountedFrom: "" })).toBe("e900cc7d3eab: Layer already exists\n");
    expect(pushLine({ id: "e900cc7d3eab", action: "mounted", mountedFrom: "shop/web" })).toBe("e900cc7d3eab: Mounted from shop/web\n");
  });

  it("names the repository without its tag", () => {
    expect(pushedRepository("reg:5000/shop/web:1")).toBe("reg:5000/shop/web");
    expect(pushedRepository("reg:5000/shop/web")).toBe("reg:5000/shop/web");
  });
});

describe("historyRows", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  const entries = [
    { id: `sha256:${"a".repeat(64)}`, createdMs: now - 3 * 86_400_000, createdBy: `/bin/sh -c #(nop)\tCMD ["sh"] ${"x".repeat(40)}`, size: 0, comment: "" },
    { id: "", createdMs: now - 3 * 86_400_000, createdBy: "ADD file:abc in /", size: 4_261_000, comment: "c" },
  ];

  it("shortens ids and commands, shows <missing> and Docker's sizes", () => {
    const rows = historyRows(entries, now, false);
    expect(rows[0]).toMatchObject({ ID: "a".repeat(12), CreatedSince: "3 days ago", Size: "0B", Comment: "" });
    expect([...String(rows[0]!.CreatedBy)]).toHaveLength(45);
    expect(String(rows[0]!.CreatedBy).endsWith("…")).toBe(true);
    expect(rows[1]).toMatchObject({ ID: "<missing>", CreatedBy: "ADD file:abc in /", Size: "4.26MB", Comment: "c" });
  });

  it("keeps everything with --no-trunc", () => {
    const rows = historyRows(entries, now, true);
    expect(rows[0]!.ID).toBe(`sha256:${"a".repeat(64)}`);
    expect(rows[0]!.CreatedBy).toBe(`/bin/sh -c #(nop) CMD ["sh"] ${"x".repeat(40)}`);
  });
});
