/**
 * Callers of `set`/`remove` waiting for the first attempt that saw their
 * change. An attempt already running when the change was marked does not
 * count: it read the state before the mark. Attempts are identified by the
 * queue seq they claimed.
 */
interface Waiter {
  /** the queue seq an attempt must have claimed; undefined until read */
  want: number | undefined;
  /** highest seq claimed by attempts that ended before `want` was known */
  seen: number;
  done: () => void;
}

export class AttemptWaiters {
  private readonly waiters = new Map<string, Waiter[]>();

  /**
   * Resolves when an attempt on id that claimed at least the current queue seq
   * (read by `currentSeq`; undefined = already consumed) ends, or after timeoutMs.
   */
  wait(id: string, timeoutMs: number, currentSeq: () => Promise<number | undefined>): Promise<void> {
    return new Promise((resolve) => {
      const w: Waiter = {
        want: undefined,
        seen: 0,
        done: () => {
          clearTimeout(t);
          const list = this.waiters.get(id);
          const i = list?.indexOf(w) ?? -1;
          if (i >= 0) list!.splice(i, 1);
          if (list?.length === 0) this.waiters.delete(id);
          resolve();
        },
      };
      const t = setTimeout(w.done, timeoutMs);
      const list = this.waiters.get(id) ?? [];
      list.push(w);
      this.waiters.set(id, list);
      // Registered first, then the seq to wait for: an attempt ending in between is recorded in `seen`.
      currentSeq().then(
        (seq) => {
          if (seq === undefined || w.seen >= seq) return w.done();
          w.want = seq;
        },
        () => w.done(),
      );
    });
  }

  /** An attempt on id that had claimed `claimedSeq` has ended. */
  ended(id: string, claimedSeq: number): void {
    for (const w of [...(this.waiters.get(id) ?? [])]) {
      if (w.want === undefined) w.seen = Math.max(w.seen, claimedSeq);
      else if (claimedSeq >= w.want) w.done();
    }
  }
}
