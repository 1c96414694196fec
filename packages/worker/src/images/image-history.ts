/**
 * Image history as `docker history` shows it: the config's history entries, newest first, each
 * entry that made a layer paired with that layer's size. Pure.
 */

/** HistoryEntry is one step that built an image. */
export interface HistoryEntry {
  /** The image id on the newest entry, "" on the others (Docker prints <missing>). */
  id: string;
  createdMs: number;
  createdBy: string;
  size: number;
  comment: string;
  tags: string[];
  emptyLayer: boolean;
}

interface ConfigHistory {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

/**
 * imageHistory reads config's history; layerSizes are the image's layers' sizes, lowest first.
 * A config without history gets one entry per layer, as Docker shows it.
 */
export function imageHistory(id: string, configJson: string, layerSizes: readonly number[], tags: readonly string[]): HistoryEntry[] {
  let config: { created?: string; history?: ConfigHistory[] } = {};
  try {
    config = JSON.parse(configJson) as typeof config;
  } catch {
    // An unreadable config has no history to show; the layers still do.
  }
  const steps: ConfigHistory[] = Array.isArray(config.history) && config.history.length > 0
    ? config.history
    : layerSizes.map(() => ({ created: config.created ?? "" }));
  let layer = 0;
  const out: HistoryEntry[] = steps.map((h) => {
    const empty = h.empty_layer === true;
    const size = empty ? 0 : (layerSizes[layer++] ?? 0);
    const created = Date.parse(h.created ?? "");
    return {
      id: "",
      createdMs: Number.isNaN(created) ? 0 : created,
      createdBy: h.created_by ?? "",
      size,
      comment: h.comment ?? "",
      tags: [],
      emptyLayer: empty,
    };
  });
  out.reverse();
  const top = out[0];
  if (top !== undefined) {
    top.id = id;
    top.tags = [...tags];
  }
  return out;
}
