/**
 * IndexHeap is a binary min-heap of small integers (node indices) under a caller's ordering. The
 * ordering may read mutable state, as long as an index's key only changes while it is out of the
 * heap: the scheduler pops a node, assigns to it, then pushes it back.
 */
export class IndexHeap {
  private items: number[] = [];

  constructor(private readonly less: (a: number, b: number) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  /** build replaces the contents with items in O(n). */
  build(items: number[]): void {
    this.items = items;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  push(item: number): void {
    this.items.push(item);
    this.up(this.items.length - 1);
  }

  /** pop removes and returns the least item, or undefined when empty. */
  pop(): number | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      this.down(0);
    }
    return top;
  }

  private up(i: number): void {
    const items = this.items;
    const x = items[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(x, items[p]!)) break;
      items[i] = items[p]!;
      i = p;
    }
    items[i] = x;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const x = items[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.less(items[c + 1]!, items[c]!)) c++;
      if (!this.less(items[c]!, x)) break;
      items[i] = items[c]!;
      i = c;
    }
    items[i] = x;
  }
}
