/**
 * Go `time.ParseDuration` syntax (`300ms`, `1h30m`, `1.5s`), plus Vault's `d`
 * suffix and bare numbers meaning seconds (Vault's parseutil accepts both).
 * The one duration parser of the config file, the API's field coercion and the CLI.
 */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const WHOLE = /^([+-])?((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h|d))+)$/;
const PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/g;

/** Returns milliseconds (fractional below 1ms), or undefined when `v` is not a duration. */
export function parseDurationMs(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v * 1000 : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (s === '') return undefined;
  if (/^[+-]?\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const m = WHOLE.exec(s);
  if (!m) return undefined;
  let ms = 0;
  for (const part of m[2]!.matchAll(PART)) ms += Number(part[1]) * UNIT_MS[part[2]!]!;
  if (!Number.isFinite(ms)) return undefined;
  return m[1] === '-' ? -ms : ms;
}
