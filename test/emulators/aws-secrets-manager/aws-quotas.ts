/**
 * Request-rate quotas (token buckets per API group, at AWS's published rates)
 * and injected faults, both adjustable while the emulator runs.
 */

/** Quota groups: operations sharing one bucket. */
export const QUOTA_GROUPS: Readonly<Record<string, readonly string[]>> = {
  write: ['PutSecretValue', 'UpdateSecret'],
  tag: ['TagResource', 'UntagResource'],
  create: ['CreateSecret'],
  delete: ['DeleteSecret'],
  restore: ['RestoreSecret'],
  read: ['GetSecretValue', 'DescribeSecret'],
  batchGet: ['BatchGetSecretValue'],
  list: ['ListSecrets'],
};

/** Requests per second per group, as AWS documents them (per account and region). */
export const AWS_RATES: Readonly<Record<string, number>> = {
  write: 50,
  tag: 50,
  create: 50,
  delete: 50,
  restore: 50,
  read: 10_000,
  batchGet: 100,
  list: 100,
};

export type QuotaRates = Partial<Record<keyof typeof AWS_RATES | string, number>>;

const GROUP_OF = new Map<string, string>();
for (const [group, ops] of Object.entries(QUOTA_GROUPS)) for (const op of ops) GROUP_OF.set(op, group);

interface Bucket {
  rate: number;
  tokens: number;
  last: number;
}

/**
 * Token buckets refilled continuously at `rate`/s with a burst of one second's
 * worth, which is how AWS's per-second quotas behave in practice.
 */
export class Quotas {
  private buckets = new Map<string, Bucket>();
  private enabled = false;

  constructor(private readonly clock: () => number = () => performance.now()) {}

  /** `true` → AWS's rates; an object → AWS's rates overridden per group; `false` → off. */
  configure(setting: boolean | QuotaRates): void {
    this.buckets.clear();
    this.enabled = setting !== false;
    if (!this.enabled) return;
    const rates: Record<string, number> = { ...AWS_RATES, ...(typeof setting === 'object' ? setting : {}) } as Record<string, number>;
    const now = this.clock();
    for (const [group, rate] of Object.entries(rates)) this.buckets.set(group, { rate, tokens: rate, last: now });
  }

  get active(): boolean {
    return this.enabled;
  }

  rates(): Record<string, number> | false {
    if (!this.enabled) return false;
    return Object.fromEntries([...this.buckets].map(([g, b]) => [g, b.rate]));
  }

  /** Takes a token for the operation; `false` means throttle. */
  take(operation: string): boolean {
    if (!this.enabled) return true;
    const group = GROUP_OF.get(operation) ?? operation;
    const b = this.buckets.get(group);
    if (b === undefined) return true;
    const now = this.clock();
    b.tokens = Math.min(b.rate, b.tokens + ((now - b.last) / 1000) * b.rate);
    b.last = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/** Faults injected into AWS API requests (never into `/_emulator/` control requests). */
export interface Faults {
  /** fraction of requests answered 500 InternalServiceError (before any state change) */
  errorRate?: number;
  /** added delay before every answer, ms */
  latencyMs?: number;
  /** fraction of requests whose connection is destroyed without an answer */
  dropRate?: number;
  /** when true, requests are never answered (until the fault is cleared or the emulator closes) */
  hang?: boolean;
  /** fraction of requests answered 200 with a body that is not JSON */
  garbageRate?: number;
}

export type FaultAction = 'none' | 'error' | 'drop' | 'hang' | 'garbage';

export function normalizeFaults(f: Faults): Required<Faults> {
  const rate = (v: number | undefined, name: string): number => {
    const x = v ?? 0;
    if (typeof x !== 'number' || x < 0 || x > 1 || Number.isNaN(x)) throw new Error(`${name} must be a number in [0, 1]`);
    return x;
  };
  const latency = f.latencyMs ?? 0;
  if (typeof latency !== 'number' || latency < 0) throw new Error('latencyMs must be a non-negative number');
  return {
    errorRate: rate(f.errorRate, 'errorRate'),
    dropRate: rate(f.dropRate, 'dropRate'),
    garbageRate: rate(f.garbageRate, 'garbageRate'),
    latencyMs: latency,
    hang: f.hang === true,
  };
}

/** Picks the fault (if any) for one request. */
export function pickFault(f: Required<Faults>, random: () => number = Math.random): FaultAction {
  if (f.hang) return 'hang';
  if (f.dropRate > 0 && random() < f.dropRate) return 'drop';
  if (f.errorRate > 0 && random() < f.errorRate) return 'error';
  if (f.garbageRate > 0 && random() < f.garbageRate) return 'garbage';
  return 'none';
}
