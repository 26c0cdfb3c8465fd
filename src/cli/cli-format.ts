/**
 * Output formatting that reproduces Vault's CLI byte for byte: Go's `%v`
 * rendering of decoded JSON, the `columnize` tables, `padEqualSigns` headers
 * and `json.MarshalIndent` output.
 */

/** Vault's column delimiter for key/value tables ("hope it's never in a secret"). */
export const HOPE_DELIM = '♨';

/** A decoded Vault API response (api.Secret). */
export interface Secret {
  request_id?: string;
  lease_id?: string;
  lease_duration?: number;
  renewable?: boolean;
  data?: Record<string, unknown> | null;
  warnings?: string[] | null;
  auth?: SecretAuth | null;
  wrap_info?: unknown;
  mount_type?: string;
  [extra: string]: unknown;
}

export interface SecretAuth {
  client_token?: string;
  accessor?: string;
  policies?: string[] | null;
  token_policies?: string[] | null;
  identity_policies?: string[] | null;
  metadata?: Record<string, string> | null;
  orphan?: boolean;
  entity_id?: string;
  lease_duration?: number;
  renewable?: boolean;
  mfa_requirement?: unknown;
  num_uses?: number;
  [extra: string]: unknown;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Go's byte-wise string ordering (sort.Strings). */
export function goCompare(a: string, b: string): number {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return Buffer.compare(ba, bb);
}

export function sortedKeys(o: Record<string, unknown>): string[] {
  return Object.keys(o).sort(goCompare);
}

/** Go's fmt `%v` of a value decoded from JSON (map keys sorted, `<nil>` for null). */
export function goValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return '[' + v.map(goValue).join(' ') + ']';
  if (isPlainObject(v)) {
    return 'map[' + sortedKeys(v).map((k) => `${k}:${goValue(v[k])}`).join(' ') + ']';
  }
  return String(v);
}

/** Go's `%q` of a []string: `["a" "b"]`; nil prints `[]`. */
export function goQuotedList(v: unknown): string {
  if (!Array.isArray(v)) return '[]';
  return '[' + v.map((s) => JSON.stringify(String(s))).join(' ') + ']';
}

/** Vault's looksLikeDuration: such fields hold seconds and print as durations. */
export function looksLikeDuration(k: string): boolean {
  return (
    k === 'period' ||
    k.endsWith('_period') ||
    k === 'ttl' ||
    k.endsWith('_ttl') ||
    k === 'duration' ||
    k.endsWith('_duration') ||
    k === 'lease_max' ||
    k === 'ttl_max'
  );
}

/** Vault's humanDuration: Go's Duration.String() with trailing zero units dropped. */
export function humanDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  const neg = seconds < 0;
  let rest = Math.abs(seconds);
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  let out: string;
  if (h > 0) out = `${h}h${m}m${s}s`;
  else if (m > 0) out = `${m}m${s}s`;
  else out = `${s}s`;
  if (out.endsWith('m0s')) out = out.slice(0, -2);
  const idx = out.indexOf('h0m');
  if (idx > 0) out = out.slice(0, idx + 1) + out.slice(idx + 3);
  return (neg ? '-' : '') + out;
}

/** Vault's humanDurationInt: integers become durations, anything else is left alone. */
export function humanDurationInt(v: unknown): unknown {
  if (typeof v === 'number' && Number.isInteger(v)) return humanDuration(v);
  return v;
}

function byteLen(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function runeLen(s: string): number {
  return [...s].length;
}

/** Vault's padEqualSigns: centres the title in `=` signs. */
export function padEqualSigns(header: string, totalLen: number): string {
  let equalSigns = totalLen - (byteLen(header) + 2);
  if (equalSigns <= 0) equalSigns = 4;
  if (equalSigns % 2 !== 0) equalSigns += 1;
  const side = '='.repeat(equalSigns / 2);
  return `${side} ${header} ${side}`;
}

/** Vault's getHeaderForMap: header as wide as the `Key    Value` table below it. */
export function headerForMap(header: string, data: Record<string, unknown>): string {
  let maxKey = 0;
  for (const k of Object.keys(data)) maxKey = Math.max(maxKey, byteLen(k));
  return padEqualSigns(header, maxKey + 4 + 5);
}

/**
 * ryanuber/columnize as Vault configures it: cells trimmed, empty cells shown
 * as `n/a`, columns joined by four spaces, last column unpadded, whole output
 * trimmed.
 */
export function columnize(lines: readonly string[], delim: string, glue = '    ', empty = 'n/a'): string {
  const rows = lines.map((line) =>
    line.split(delim).map((cell) => {
      const v = cell.trim();
      return v === '' && empty !== '' ? empty : v;
    }),
  );
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      const w = runeLen(cell);
      if (widths[i] === undefined || w > widths[i]!) widths[i] = w;
    });
  }
  let out = '';
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (i === row.length - 1) out += cell + '\n';
      else out += cell + ' '.repeat(Math.max(0, widths[i]! - runeLen(cell))) + glue;
    });
  }
  return out.trim();
}

/** Vault's tableOutput: first line is the header, underlined with dashes. */
export function tableOutput(lines: readonly string[], delim = '|'): string {
  if (lines.length === 0) return '';
  const headers = lines[0]!.split(delim);
  const underline = headers.map((h) => '-'.repeat(byteLen(h.trim()))).join(delim);
  return columnize([lines[0]!, underline, ...lines.slice(1)], delim);
}

/** TableFormatter.OutputMap: sorted `Key Value` rows; empty string when nothing to print. */
export function formatMapTable(data: Record<string, unknown> | null | undefined): string {
  if (!data) return '';
  const rows = sortedKeys(data).map((k) => {
    const v = looksLikeDuration(k) ? humanDurationInt(data[k]) : data[k];
    return `${k} ${HOPE_DELIM} ${goValue(v)}`;
  });
  if (rows.length === 0) return '';
  return tableOutput([`Key${HOPE_DELIM}Value`, ...rows], HOPE_DELIM);
}

/** TableFormatter.OutputSecret: lease, auth and data rows in one `Key Value` table. */
export function formatSecretTable(secret: Secret): string {
  const out: string[] = [];
  const leaseDuration = secret.lease_duration ?? 0;
  if (leaseDuration > 0) {
    if (secret.lease_id) {
      out.push(`lease_id ${HOPE_DELIM} ${secret.lease_id}`);
      out.push(`lease_duration ${HOPE_DELIM} ${goValue(humanDurationInt(leaseDuration))}`);
      out.push(`lease_renewable ${HOPE_DELIM} ${secret.renewable ? 'true' : 'false'}`);
    } else {
      out.push(`refresh_interval ${HOPE_DELIM} ${goValue(humanDurationInt(leaseDuration))}`);
    }
  }
  const auth = secret.auth;
  if (auth) {
    out.push(`token ${HOPE_DELIM} ${auth.client_token ?? ''}`);
    out.push(`token_accessor ${HOPE_DELIM} ${auth.accessor ?? ''}`);
    const ld = auth.lease_duration ?? 0;
    out.push(`token_duration ${HOPE_DELIM} ${ld === 0 ? '∞' : goValue(humanDurationInt(ld))}`);
    out.push(`token_renewable ${HOPE_DELIM} ${auth.renewable ? 'true' : 'false'}`);
    out.push(`token_policies ${HOPE_DELIM} ${goQuotedList(auth.token_policies)}`);
    out.push(`identity_policies ${HOPE_DELIM} ${goQuotedList(auth.identity_policies)}`);
    out.push(`policies ${HOPE_DELIM} ${goQuotedList(auth.policies)}`);
    // Go ranges over a map here, so the order is random in Vault; sorted is the kindest choice.
    const meta = auth.metadata ?? {};
    for (const k of sortedKeys(meta)) out.push(`token_meta_${k} ${HOPE_DELIM} ${goValue(meta[k])}`);
  }
  const data = secret.data;
  if (data && Object.keys(data).length > 0) {
    for (const k of sortedKeys(data)) {
      const v = looksLikeDuration(k) ? humanDurationInt(data[k]) : data[k];
      out.push(`${k} ${HOPE_DELIM} ${goValue(v)}`);
    }
  }
  if (out.length === 0) return '';
  return tableOutput([`Key${HOPE_DELIM}Value`, ...out], HOPE_DELIM);
}

/** TableFormatter.OutputList: sorted keys under a `Keys` header. */
export function formatListTable(keys: readonly unknown[]): string {
  const sorted = keys.map((k) => String(k)).sort(goCompare);
  return tableOutput(['Keys', ...sorted], HOPE_DELIM);
}

/** Warning block Vault prints (to stderr) before a table. */
export function formatWarnings(warnings: readonly string[] | null | undefined): string[] {
  if (!warnings || warnings.length === 0) return [];
  const lines = ['WARNING! The following warnings were returned from Vault:\n'];
  for (const w of warnings) {
    lines.push(wrapAtLengthWithPadding(`* ${w}`, 2));
    lines.push('');
  }
  return lines;
}

/** Vault's maxLineLength for wrapped prose. */
export const MAX_LINE_LENGTH = 78;

/**
 * kr/text.Wrap, which Vault uses: words are split on single spaces and lines
 * chosen to minimise raggedness (sum of squared trailing gaps), not greedily.
 */
export function wrapText(s: string, lim: number): string {
  const words = s.trim().replace(/\n/g, ' ').split(' ');
  const n = words.length;
  const wl = words.map((w) => [...w].length);
  const lineLen = (i: number, j: number): number => {
    let l = 0;
    for (let k = i; k <= j; k++) l += wl[k]! + (k > i ? 1 : 0);
    return l;
  };
  const penalty = 1e5;
  const cost = new Array<number>(n).fill(2 ** 31 - 1);
  const nbrk = new Array<number>(n).fill(n);
  for (let i = n - 1; i >= 0; i--) {
    if (lineLen(i, n - 1) <= lim) {
      cost[i] = 0;
      nbrk[i] = n;
      continue;
    }
    for (let j = i + 1; j < n; j++) {
      const len = lineLen(i, j - 1);
      const d = lim - len;
      let c = d * d + cost[j]!;
      if (len > lim) c += penalty;
      if (c < cost[i]!) {
        cost[i] = c;
        nbrk[i] = j;
      }
    }
  }
  const lines: string[] = [];
  for (let i = 0; i < n; i = nbrk[i]!) lines.push(words.slice(i, nbrk[i]).join(' '));
  return lines.join('\n');
}

/** Vault's wrapAtLengthWithPadding: wrap at 78 minus the pad, then indent every line. */
export function wrapAtLengthWithPadding(s: string, pad: number): string {
  return wrapText(s, MAX_LINE_LENGTH - pad)
    .split('\n')
    .map((l) => ' '.repeat(pad) + l)
    .join('\n');
}

export function wrapAtLength(s: string): string {
  return wrapAtLengthWithPadding(s, 0);
}

/** Recursively sorts object keys the way Go marshals a map[string]interface{}. */
function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of sortedKeys(v)) out[k] = sortDeep(v[k]);
    return out;
  }
  return v;
}

/** Go's json.MarshalIndent(v, "", "  ") for decoded JSON values, HTML-escaped like Go. */
export function goJson(v: unknown, sortMaps = true): string {
  const s = JSON.stringify(sortMaps ? sortDeep(v) : v, null, 2) ?? 'null';
  return s
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** api.Secret as Go marshals it: fixed field order, maps sorted, omitempty respected. */
export function secretToJsonObject(secret: Secret): Record<string, unknown> {
  const out: Record<string, unknown> = {
    request_id: secret.request_id ?? '',
    lease_id: secret.lease_id ?? '',
    lease_duration: secret.lease_duration ?? 0,
    renewable: secret.renewable ?? false,
    data: secret.data === undefined ? null : sortDeep(secret.data),
    warnings: secret.warnings ?? null,
  };
  if (secret.auth) {
    const a = secret.auth;
    const auth: Record<string, unknown> = {
      client_token: a.client_token ?? '',
      accessor: a.accessor ?? '',
      policies: a.policies ?? null,
      token_policies: a.token_policies ?? null,
      identity_policies: a.identity_policies ?? null,
      metadata: a.metadata ? sortDeep(a.metadata) : null,
      orphan: a.orphan ?? false,
      entity_id: a.entity_id ?? '',
      lease_duration: a.lease_duration ?? 0,
      renewable: a.renewable ?? false,
      mfa_requirement: a.mfa_requirement ?? null,
    };
    if (a.num_uses !== undefined) auth['num_uses'] = a.num_uses;
    out['auth'] = auth;
  }
  if (secret.wrap_info) out['wrap_info'] = sortDeep(secret.wrap_info);
  if (secret.mount_type) out['mount_type'] = secret.mount_type;
  return out;
}

export function formatSecretJson(secret: Secret): string {
  return goJson(secretToJsonObject(secret), false);
}

/** Vault's RawField: auth fields first when the response carries a token. */
export function rawField(secret: Secret, field: string): unknown {
  const data = secret.data ?? {};
  if (secret.auth) {
    const a = secret.auth;
    switch (field) {
      case 'token':
        return a.client_token;
      case 'token_accessor':
        return a.accessor;
      case 'token_duration':
        return a.lease_duration;
      case 'token_renewable':
        return a.renewable;
      case 'token_policies':
        return a.token_policies ?? [];
      case 'identity_policies':
        return a.identity_policies ?? [];
      case 'policies':
        return a.policies ?? [];
      default:
        return data[field];
    }
  }
  switch (field) {
    case 'lease_duration':
    case 'refresh_interval':
      return secret.lease_duration;
    case 'lease_id':
      return secret.lease_id;
    case 'request_id':
      return secret.request_id;
    case 'renewable':
      return secret.renewable;
    case 'data':
      return 'data' in data ? data['data'] : data;
    default:
      return data[field];
  }
}
