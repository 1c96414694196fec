import { describe, expect, it } from "vitest";
import { imageHistory } from "./image-history.js";

describe("imageHistory", () => {
  it("pairs entries that made layers with the layer sizes, newest first, id and tags on the newest", () => {
    const config = JSON.stringify({
      history: [
        { created: "2024-01-01T00:00:00Z", created_by: "ADD rootfs.tar /" },
        { created: "2024-01-02T00:00:00Z", created_by: 'CMD ["sh"]', empty_layer: true },
        { created: "2024-01-03T00:00:00Z", created_by: "RUN make", comment: "buildkit" },
      ],
    });
    const h = imageHistory("sha256:abc", config, [100, 7], ["web:1"]);
    expect(h.map((e) => [e.id, e.createdBy, e.size, e.emptyLayer, e.tags])).toEqual([
      ["sha256:abc", "RUN make", 7, false, ["web:1"]],
      ["", 'CMD ["sh"]', 0, true, []],
      ["", "ADD rootfs.tar /", 100, false, []],
    ]);
    expect(h[0]!.comment).toBe("buildkit");
    expect(h[2]!.createdMs).toBe(Date.parse("2024-01-01T00:00:00Z"));
  });

  it("shows one entry per layer when the config has no history", () => {
    const h = imageHistory("sha256:abc", JSON.stringify({ created: "2024-01-01T00:00:00Z" }), [1, 2], []);
    expect(h.map((e) => [e.id, e.size])).toEqual([
      ["sha256:abc", 2],
      ["", 1],
    ]);
  });
});
