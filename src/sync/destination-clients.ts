/** Live destination clients, one per destination, rebuilt when its configuration changes. */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { DestinationClient, DestinationTimeouts } from '../destinations/destination.js';
import { destinationTypes } from '../destinations/registry.js';
import { stableJson } from './planner.js';
import { AdaptiveRateLimiter, Semaphore } from './rate-limiter.js';
import type { DestinationRecord } from './sync-types.js';

/** Writes per second each type may send by default (AWS Secrets Manager: 50/s per API group). */
const DEFAULT_RATE: Record<string, number> = { 'aws-sm': 50, 'gcp-sm': 50, 'azure-kv': 50, gh: 10, 'vercel-project': 10 };

export interface LiveClient {
  client: DestinationClient;
  limiter: AdaptiveRateLimiter;
  sem: Semaphore;
  stamp: string;
}

export class DestinationClients {
  private readonly live = new Map<string, LiveClient>();
  /** overrides of the default rate per destination type (0 = unlimited), e.g. for benchmarks */
  rateOverride: number | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly concurrency: number,
    private readonly timeouts: DestinationTimeouts = {},
  ) {}

  get(dest: DestinationRecord): LiveClient {
    const key = `${dest.type}/${dest.name}`;
    const stamp = createHash('sha256').update(stableJson({ c: dest.connection, o: dest.options })).digest('hex');
    const cur = this.live.get(key);
    if (cur && cur.stamp === stamp) return cur;
    cur?.client.close();
    const spec = destinationTypes[dest.type];
    const client = spec.createClient(dest.connection, dest.options, {
      timeouts: this.timeouts,
      logger: { warn: (o, m) => this.logger.warn({ destination: key, ...o }, m), debug: (o, m) => this.logger.debug({ destination: key, ...o }, m) },
    });
    const rate = this.rateOverride ?? DEFAULT_RATE[dest.type] ?? 50;
    const lc: LiveClient = { client, limiter: cur?.limiter ?? new AdaptiveRateLimiter(rate), sem: cur?.sem ?? new Semaphore(this.concurrency), stamp };
    this.live.set(key, lc);
    return lc;
  }

  drop(type: string, name: string): void {
    const key = `${type}/${name}`;
    this.live.get(key)?.client.close();
    this.live.delete(key);
  }

  closeAll(): void {
    for (const c of this.live.values()) c.client.close();
    this.live.clear();
  }
}
