/**
 * In-memory Secrets Manager state: secrets per region, their versions and
 * staging labels, scheduled deletion and the short window after a forced
 * deletion during which AWS still refuses to reuse the name.
 */
import { randomInt, randomUUID } from 'node:crypto';

export interface Tag {
  Key: string;
  Value: string;
}

export interface SecretVersion {
  versionId: string;
  secretString?: string;
  /** base64, as it travels on the wire */
  secretBinary?: string;
  createdDate: number;
  stages: string[];
}

export interface StoredSecret {
  name: string;
  arn: string;
  region: string;
  description?: string;
  kmsKeyId?: string;
  tags: Tag[];
  /** insertion order = creation order */
  versions: Map<string, SecretVersion>;
  createdDate: number;
  lastChangedDate: number;
  lastAccessedDate?: number;
  /** set while scheduled for deletion */
  deletedDate?: number;
  /** when a scheduled deletion becomes final */
  deletionDate?: number;
}

/** A secret as the control surface reports it (plain JSON, no Maps). */
export interface SecretSnapshot {
  name: string;
  arn: string;
  region: string;
  description?: string;
  kmsKeyId?: string;
  tags: Tag[];
  /** the AWSCURRENT value (string, or base64 binary) */
  currentValue?: string;
  currentVersionId?: string;
  versions: Array<{ versionId: string; stages: string[]; createdDate: number; value?: string }>;
  createdDate: number;
  lastChangedDate: number;
  deletedDate?: number;
  scheduledDeletionDate?: number;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const MAX_UNLABELLED_VERSIONS = 100;

export function randomAlnum(n: number, alphabet = ALNUM): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

export function secretArnPrefix(region: string, account: string): string {
  return `arn:aws:secretsmanager:${region}:${account}:secret:`;
}

export class SecretStore {
  private readonly secrets = new Map<string, StoredSecret>();
  /** force-deleted names that cannot be reused yet → until (ms) */
  private readonly tombstones = new Map<string, number>();

  constructor(
    readonly account: string,
    private readonly now: () => number,
    private readonly newId: () => string = randomUUID,
  ) {}

  private key(region: string, name: string): string {
    return `${region}\0${name}`;
  }

  clear(): void {
    this.secrets.clear();
    this.tombstones.clear();
  }

  private purgeIfDue(s: StoredSecret): boolean {
    if (s.deletionDate !== undefined && s.deletionDate <= this.now()) {
      this.secrets.delete(this.key(s.region, s.name));
      return true;
    }
    return false;
  }

  /** Resolves a SecretId (name, full ARN or partial ARN) in a region. */
  find(region: string, secretId: string): StoredSecret | undefined {
    let name = secretId;
    let fullArn: string | undefined;
    const prefix = secretArnPrefix(region, this.account);
    if (secretId.startsWith('arn:')) {
      if (!secretId.startsWith(prefix)) return undefined;
      name = secretId.slice(prefix.length);
      fullArn = secretId;
    }
    let s = this.secrets.get(this.key(region, name));
    if (s === undefined && fullArn !== undefined && /-[A-Za-z0-9]{6}$/.test(name)) {
      s = this.secrets.get(this.key(region, name.slice(0, -7)));
      if (s !== undefined && s.arn !== fullArn) return undefined;
    }
    if (s === undefined || this.purgeIfDue(s)) return undefined;
    return s;
  }

  /** The ARN IAM evaluates for a SecretId that may not exist yet. */
  resourceArn(region: string, secretId: string): string {
    const s = this.find(region, secretId);
    if (s !== undefined) return s.arn;
    return secretId.startsWith('arn:') ? secretId : `${secretArnPrefix(region, this.account)}${secretId}`;
  }

  newArn(region: string, name: string): string {
    return `${secretArnPrefix(region, this.account)}${name}-${randomAlnum(6)}`;
  }

  /** True while a force-deleted name is still reserved. */
  tombstoned(region: string, name: string): boolean {
    const k = this.key(region, name);
    const until = this.tombstones.get(k);
    if (until === undefined) return false;
    if (until <= this.now()) {
      this.tombstones.delete(k);
      return false;
    }
    return true;
  }

  insert(s: StoredSecret): void {
    this.secrets.set(this.key(s.region, s.name), s);
  }

  remove(s: StoredSecret, reserveMs: number): void {
    this.secrets.delete(this.key(s.region, s.name));
    if (reserveMs > 0) this.tombstones.set(this.key(s.region, s.name), this.now() + reserveMs);
  }

  /** All live secrets of a region (including ones scheduled for deletion), creation order. */
  list(region: string): StoredSecret[] {
    const out: StoredSecret[] = [];
    for (const s of this.secrets.values()) if (s.region === region && !this.purgeIfDue(s)) out.push(s);
    return out;
  }

  all(): StoredSecret[] {
    return [...this.secrets.values()].filter((s) => !this.purgeIfDue(s));
  }

  /**
   * Adds a version with the given staging labels (AWSCURRENT by default). Each
   * label moves off whichever version had it; when AWSCURRENT moves, the version
   * that had it becomes AWSPREVIOUS.
   */
  addVersion(
    s: StoredSecret,
    value: { secretString?: string; secretBinary?: string },
    versionId?: string,
    stages: string[] = ['AWSCURRENT'],
  ): SecretVersion {
    const now = this.now();
    const v: SecretVersion = { versionId: versionId ?? this.newId(), createdDate: now, stages: [...stages], ...value };
    const movesCurrent = stages.includes('AWSCURRENT');
    const labelsToMove = movesCurrent ? [...stages, 'AWSPREVIOUS'] : stages;
    const previous = movesCurrent ? versionByStage(s, 'AWSCURRENT') : undefined;
    for (const old of s.versions.values()) {
      if (old.stages.some((x) => labelsToMove.includes(x))) old.stages = old.stages.filter((x) => !labelsToMove.includes(x));
    }
    if (previous !== undefined) previous.stages.push('AWSPREVIOUS');
    s.versions.set(v.versionId, v);
    s.lastChangedDate = now;
    let unlabelled = 0;
    for (const old of s.versions.values()) if (old.stages.length === 0) unlabelled++;
    for (const [id, old] of s.versions) {
      if (unlabelled <= MAX_UNLABELLED_VERSIONS) break;
      if (old.stages.length === 0) {
        s.versions.delete(id);
        unlabelled--;
      }
    }
    return v;
  }
}

export function versionByStage(s: StoredSecret, stage: string): SecretVersion | undefined {
  for (const v of s.versions.values()) if (v.stages.includes(stage)) return v;
  return undefined;
}

export function snapshotOf(s: StoredSecret): SecretSnapshot {
  const current = versionByStage(s, 'AWSCURRENT');
  const snap: SecretSnapshot = {
    name: s.name,
    arn: s.arn,
    region: s.region,
    tags: s.tags.map((t) => ({ ...t })),
    versions: [...s.versions.values()].map((v) => ({
      versionId: v.versionId,
      stages: [...v.stages],
      createdDate: v.createdDate,
      value: v.secretString ?? v.secretBinary,
    })),
    createdDate: s.createdDate,
    lastChangedDate: s.lastChangedDate,
  };
  if (s.description !== undefined) snap.description = s.description;
  if (s.kmsKeyId !== undefined) snap.kmsKeyId = s.kmsKeyId;
  if (current !== undefined) {
    snap.currentVersionId = current.versionId;
    const value = current.secretString ?? current.secretBinary;
    if (value !== undefined) snap.currentValue = value;
  }
  if (s.deletedDate !== undefined) snap.deletedDate = s.deletedDate;
  if (s.deletionDate !== undefined) snap.scheduledDeletionDate = s.deletionDate;
  return snap;
}
