/** Shared helpers of the hardening suites: a byte-exact snapshot of the physical store. */
import type { Core } from '../../src/server/core.js';

/** Every physical entry (key → value hex) of the running core's store. */
export async function storeSnapshot(core: Core): Promise<Map<string, string>> {
  const rows = await core.svc().store.physical.read((tx) => tx.scan(''));
  return new Map(rows.map(([k, v]) => [k, Buffer.from(v).toString('hex')]));
}

/** Keys added, removed or changed between two snapshots (empty when equal). */
export function snapshotDiff(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) out.push(b.has(k) ? `changed ${k}` : `removed ${k}`);
  for (const k of b.keys()) if (!a.has(k)) out.push(`added ${k}`);
  return out;
}
