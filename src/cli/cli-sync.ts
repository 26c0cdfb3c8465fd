/**
 * `sync status`: one table of association counts per destination, then the
 * failing associations with their last error. Built only from the public
 * sys/sync API, so it works against Vault Enterprise too (which has no
 * `last_error`; that column is then empty).
 */
import { type FlagSpec, HTTP_FLAGS } from './cli-args.js';
import { type Ctx, errText, expectArgs } from './cli-context.js';
import { HOPE_DELIM, type Secret, goCompare, goJson, tableOutput } from './cli-format.js';

export const SYNC_FLAGS: Record<string, FlagSpec[]> = {
  'sync status': HTTP_FLAGS,
};

export interface FailingAssociation {
  association: string;
  accessor: string;
  secret_name: string;
  sub_key?: string;
  sync_status: string;
  updated_at: string;
  last_error: string;
}

export interface DestinationSummary {
  type: string;
  name: string;
  total: number;
  synced: number;
  pending: number;
  errors: number;
  /** Count per sync_status, every status seen. */
  statuses: Record<string, number>;
  failing: FailingAssociation[];
}

export interface SyncStatusReport {
  destinations: DestinationSummary[];
  total_associations: number;
  total_errors: number;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

/** Summarises one destination's `associations` response. */
export function summariseAssociations(type: string, name: string, data: Record<string, unknown> | null | undefined): DestinationSummary {
  const summary: DestinationSummary = { type, name, total: 0, synced: 0, pending: 0, errors: 0, statuses: {}, failing: [] };
  const assoc = (data?.['associated_secrets'] ?? {}) as Record<string, Record<string, unknown>>;
  for (const key of Object.keys(assoc).sort(goCompare)) {
    const a = assoc[key] ?? {};
    const status = str(a['sync_status']) || 'UNKNOWN';
    summary.total++;
    summary.statuses[status] = (summary.statuses[status] ?? 0) + 1;
    if (status === 'SYNCED') summary.synced++;
    else if (status === 'PENDING') summary.pending++;
    if (status.endsWith('_ERROR')) {
      summary.errors++;
      const f: FailingAssociation = {
        association: key,
        accessor: str(a['accessor']),
        secret_name: str(a['secret_name']),
        sync_status: status,
        updated_at: str(a['updated_at']),
        last_error: str(a['last_error']),
      };
      if (a['sub_key'] !== undefined) f.sub_key = str(a['sub_key']);
      summary.failing.push(f);
    }
  }
  return summary;
}

/** Destination (type, name) pairs from a LIST sys/sync/destinations response. */
export function destinationsFromList(data: Record<string, unknown> | null | undefined): Array<{ type: string; name: string }> {
  const out: Array<{ type: string; name: string }> = [];
  const keyInfo = (data?.['key_info'] ?? {}) as Record<string, unknown>;
  const keys = Array.isArray(data?.['keys']) ? (data!['keys'] as unknown[]).map(String) : Object.keys(keyInfo);
  for (const k of [...keys].sort(goCompare)) {
    const names = keyInfo[k];
    if (!Array.isArray(names)) continue;
    for (const n of names.map(String).sort(goCompare)) out.push({ type: k.replace(/\/$/, ''), name: n });
  }
  return out;
}

export function renderSyncStatusTable(report: SyncStatusReport): string {
  const rows = [['Destination', 'Type', 'Total', 'SYNCED', 'PENDING', 'ERRORS'].join(HOPE_DELIM)];
  for (const d of report.destinations) {
    rows.push([d.name, d.type, d.total, d.synced, d.pending, d.errors].map(String).join(HOPE_DELIM));
  }
  let out = tableOutput(rows, HOPE_DELIM);
  const failing = report.destinations.flatMap((d) => d.failing.map((f) => ({ d, f })));
  if (failing.length > 0) {
    const frows = [['Destination', 'Association', 'Status', 'Updated', 'Last Error'].join(HOPE_DELIM)];
    for (const { d, f } of failing) {
      const err = f.last_error.replace(/\s+/g, ' ');
      frows.push([`${d.type}/${d.name}`, f.association, f.sync_status, f.updated_at, err].join(HOPE_DELIM));
    }
    out += '\n\nFailing associations:\n' + tableOutput(frows, HOPE_DELIM);
  }
  return out;
}

export async function syncStatus(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 0, 0, '0');
  const client = ctx.client();
  let list: Secret | null;
  try {
    list = await client.list('sys/sync/destinations');
  } catch (e) {
    ctx.ui.error(`Error listing sync destinations: ${errText(e)}`);
    return 2;
  }
  const report: SyncStatusReport = { destinations: [], total_associations: 0, total_errors: 0 };
  let code = 0;
  for (const { type, name } of destinationsFromList(list?.data)) {
    const path = `sys/sync/destinations/${type}/${name}/associations`;
    let secret: Secret | null;
    try {
      secret = await client.read(path);
    } catch (e) {
      ctx.ui.error(`Error reading ${path}: ${errText(e)}`);
      code = 2;
      continue;
    }
    const s = summariseAssociations(type, name, secret?.data);
    report.destinations.push(s);
    report.total_associations += s.total;
    report.total_errors += s.errors;
  }
  if (ctx.format === 'json') {
    ctx.ui.output(goJson(report, false));
    return code;
  }
  if (report.destinations.length === 0) {
    if (code === 0) ctx.ui.output('No sync destinations configured.');
    return code;
  }
  ctx.ui.output(renderSyncStatusTable(report));
  return code;
}
