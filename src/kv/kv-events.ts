/**
 * Vault's KV-v2 events (reference §4) built from the engine's change notices
 * and fanned out to subscribers after commit. Events carry paths, versions
 * and the operation, never values.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { rfc3339Nano } from '../util/clock.js';
import type { KvChange } from './kv-types.js';

export interface KvEvent {
  id: string;
  /** e.g. `kv-v2/data-write` */
  eventType: string;
  /** mount path with trailing slash */
  mountPath: string;
  accessor: string;
  /** all values are strings, as Vault sends them */
  metadata: Record<string, string>;
  timeMs: number;
}

/** The event for one KV change (metadata per Vault's kv-v2 plugin). */
export function kvEventOf(change: KvChange, nowMs: number): KvEvent {
  const m = change.mount.path;
  const k = change.path;
  const meta: Record<string, string> = { modified: 'true', operation: change.kind };
  const versions = (change.versions ?? []).slice().sort((a, b) => a - b);
  const current = String(change.meta?.current_version ?? 0);
  const oldest = String(change.meta?.oldest_version ?? 0);
  switch (change.kind) {
    case 'data-write':
    case 'data-patch':
      Object.assign(meta, { path: `${m}data/${k}`, data_path: `${m}data/${k}`, current_version: current, oldest_version: oldest });
      break;
    case 'data-delete':
      Object.assign(meta, { path: `${m}data/${k}`, current_version: current, oldest_version: oldest });
      break;
    case 'delete':
      Object.assign(meta, { path: `${m}delete/${k}`, data_path: `${m}data/${k}`, deleted_versions: JSON.stringify(versions) });
      break;
    case 'undelete':
      Object.assign(meta, { path: `${m}undelete/${k}`, data_path: `${m}data/${k}`, undeleted_versions: JSON.stringify(versions) });
      break;
    case 'destroy':
      Object.assign(meta, { path: `${m}destroy/${k}`, destroyed_versions: JSON.stringify(versions) });
      break;
    case 'metadata-write':
    case 'metadata-patch':
      Object.assign(meta, { path: `${m}metadata/${k}`, data_path: `${m}metadata/${k}` });
      break;
    case 'metadata-delete':
      Object.assign(meta, { path: `${m}metadata/${k}` });
      break;
  }
  return { id: randomUUID(), eventType: `kv-v2/${change.kind}`, mountPath: m, accessor: change.mount.accessor, metadata: meta, timeMs: nowMs };
}

const SOURCE = `vault://${hostname()}`;

/** Vault's CloudEvents JSON frame (`?json=true`). */
export function cloudEventFrame(e: KvEvent): Record<string, unknown> {
  return {
    id: e.id,
    source: SOURCE,
    specversion: '1.0',
    type: '*',
    data: {
      event: { id: e.id, metadata: e.metadata },
      event_type: e.eventType,
      plugin_info: { mount_class: 'secret', mount_accessor: e.accessor, mount_path: e.mountPath, plugin: 'kv' },
    },
    datacontentype: 'application/cloudevents',
    time: rfc3339Nano(e.timeMs),
  };
}

/** Matches Vault's event type globs (`*` anywhere matches any run of characters). */
export function eventTypeMatches(pattern: string, eventType: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map(escapeRe).join('.*')}$`);
  return re.test(eventType);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** In-process fan-out of committed KV events. */
export class KvEventBus {
  private readonly subscribers = new Set<(e: KvEvent) => void>();

  subscribe(fn: (e: KvEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  get size(): number {
    return this.subscribers.size;
  }

  publish(e: KvEvent): void {
    for (const s of this.subscribers) {
      try {
        s(e);
      } catch {
        // one subscriber's failure never reaches the others or the writer
      }
    }
  }
}
