/**
 * A token bucket per destination that slows down when the destination
 * throttles (multiplicative decrease) and recovers gradually (additive
 * increase), so a large sync runs near the quota without living in backoff.
 */
export class AdaptiveRateLimiter {
  private tokens: number;
  private rate: number;
  private last: number;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    /** operations per second when healthy; 0 = unlimited */
    private readonly maxRate: number,
    private readonly burst = Math.max(1, Math.ceil(maxRate / 10)),
    private readonly now: () => number = () => performance.now(),
  ) {
    this.rate = maxRate;
    this.tokens = this.burst;
    this.last = this.now();
  }

  get currentRate(): number {
    return this.rate;
  }

  /** Waits for one token. Callers are served in order. */
  take(): Promise<void> {
    if (this.maxRate <= 0) return Promise.resolve();
    const next = this.chain.then(() => this.waitOne());
    this.chain = next;
    return next;
  }

  private async waitOne(): Promise<void> {
    for (;;) {
      const t = this.now();
      this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
      this.last = t;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.max(1, ((1 - this.tokens) / this.rate) * 1000)));
    }
  }

  onThrottled(): void {
    if (this.maxRate <= 0) return;
    this.rate = Math.max(this.maxRate / 20, this.rate / 2);
    this.tokens = Math.min(this.tokens, 0);
  }

  onSuccess(): void {
    if (this.maxRate <= 0 || this.rate >= this.maxRate) return;
    this.rate = Math.min(this.maxRate, this.rate + this.maxRate / 100);
  }
}

/** A counting semaphore for per-destination concurrency. */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}
