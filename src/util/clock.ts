/** Injectable clock. Timestamps carry nanosecond-formatted precision like Vault's (Go RFC3339Nano). */
export interface Clock {
  /** Unix time in milliseconds, fractional (sub-millisecond precision where available). */
  nowMs(): number;
}

const origin = performance.timeOrigin;
export const systemClock: Clock = { nowMs: () => origin + performance.now() };

/** Go's RFC3339Nano in UTC: `2023-10-04T01:33:47.161455425Z` (trailing zeros trimmed). */
export function rfc3339Nano(ms: number): string {
  const whole = Math.floor(ms);
  const base = new Date(whole).toISOString().slice(0, 19);
  const nanos = Math.round((ms - Math.floor(ms / 1000) * 1000) * 1e6);
  const frac = String(Math.min(nanos, 999_999_999)).padStart(9, '0').replace(/0+$/, '');
  return `${base}${frac ? '.' + frac : ''}Z`;
}

export function parseRfc3339(s: string): number {
  return Date.parse(s);
}
