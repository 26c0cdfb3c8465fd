/**
 * The in-memory view of the persistent queue: which association ids are due
 * when. A binary min-heap on due time; stale heap items (superseded by a later
 * schedule of the same id) are skipped on pop.
 */
interface Item {
  id: string;
  due: number;
}

export class Schedule {
  private readonly heap: Item[] = [];
  private readonly dueOf = new Map<string, number>();

  get size(): number {
    return this.dueOf.size;
  }

  has(id: string): boolean {
    return this.dueOf.has(id);
  }

  /** Schedules id at due (an earlier existing schedule wins unless `force`). */
  put(id: string, due: number, force = false): void {
    const cur = this.dueOf.get(id);
    if (cur !== undefined && cur <= due && !force) return;
    this.dueOf.set(id, due);
    this.push({ id, due });
  }

  delete(id: string): void {
    this.dueOf.delete(id);
  }

  /** Time of the earliest due item, or undefined. */
  peekDue(): number | undefined {
    this.dropStale();
    return this.heap[0]?.due;
  }

  /** Removes and returns the earliest item due at or before now. */
  popDue(now: number): string | undefined {
    this.dropStale();
    const top = this.heap[0];
    if (!top || top.due > now) return undefined;
    this.pop();
    this.dueOf.delete(top.id);
    return top.id;
  }

  private dropStale(): void {
    while (this.heap.length) {
      const top = this.heap[0]!;
      if (this.dueOf.get(top.id) === top.due) return;
      this.pop();
    }
  }

  private push(item: Item): void {
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.due <= h[i]!.due) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]!.due < h[m]!.due) m = l;
      if (r < h.length && h[r]!.due < h[m]!.due) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
}
