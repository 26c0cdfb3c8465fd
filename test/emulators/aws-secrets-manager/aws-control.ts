/**
 * The emulator's control surface for tests and benchmarks (not an AWS API):
 * an in-process object, and the same over HTTP under `/_emulator/`.
 */
import type { PolicyDocument } from './aws-iam-policy.js';
import { type Faults, type QuotaRates, type Quotas, normalizeFaults } from './aws-quotas.js';
import { type SecretSnapshot, type SecretStore, snapshotOf } from './aws-sm-store.js';
import type { CredentialConfig, IdentityStore, RoleConfig } from './aws-sts.js';

/** One AWS API request as the emulator saw it. */
export interface CallRecord {
  /** increasing sequence number (for `GET /_emulator/calls?since=N`) */
  seq: number;
  /** arrival time, epoch ms with sub-ms precision (performance.timeOrigin + performance.now()) */
  time: number;
  service: 'secretsmanager' | 'sts';
  /** e.g. `CreateSecret`, `AssumeRole`; `unknown` when it could not be told */
  operation: string;
  /** the secret concerned (name when known, else the SecretId as sent) */
  secretName?: string;
  /** `ok`, the AWS error type, or the injected fault (`dropped`, `hang`, `garbage`) */
  result: string;
  /** HTTP status sent (0 when none was) */
  status: number;
  accessKeyId?: string;
  region?: string;
  requestId: string;
  durationMs: number;
}

export type CallListener = (call: CallRecord) => void;

export interface AwsEmulatorControl {
  /** Back to the state the emulator started with: no secrets, no calls, initial credentials/roles/quotas/faults. */
  reset(): void;
  /** Every secret, including those scheduled for deletion. */
  secrets(): SecretSnapshot[];
  /** One secret by name (any region unless given). */
  secret(name: string, region?: string): SecretSnapshot | undefined;
  calls(): CallRecord[];
  clearCalls(): void;
  /** Replaces the identity policy of an access key. */
  setPolicy(accessKeyId: string, policy: PolicyDocument): void;
  addCredentials(accessKeyId: string, secretAccessKey: string, policy?: PolicyDocument, userName?: string): void;
  setFaults(faults: Faults): void;
  /** `true` → AWS's rates, an object → AWS's rates with overrides per group, `false` → off. */
  setThrottle(setting: boolean | QuotaRates): void;
  addRole(role: RoleConfig): void;
  /** Expires every temporary credential issued so far. */
  expireSessions(): void;
  setForceDeleteDelay(ms: number): void;
  /** Calls `listener` for each completed request; returns the unsubscribe function. */
  onCall(listener: CallListener): () => void;
  /** Resolves with the first call (past or future) matching `predicate`, or rejects after `timeoutMs`. */
  waitForCall(predicate: (c: CallRecord) => boolean, timeoutMs?: number): Promise<CallRecord>;
}

export class CallLog {
  private records: CallRecord[] = [];
  private seq = 0;
  readonly listeners = new Set<CallListener>();

  constructor(private readonly limit: number) {}

  nextSeq(): number {
    return ++this.seq;
  }

  add(r: CallRecord): void {
    this.records.push(r);
    if (this.records.length > this.limit) this.records.splice(0, Math.ceil(this.limit / 4));
    for (const l of this.listeners) {
      try {
        l(r);
      } catch {
        // a test's listener must not break the emulator
      }
    }
  }

  all(): CallRecord[] {
    return this.records.slice();
  }

  since(seq: number): CallRecord[] {
    let i = this.records.length;
    while (i > 0 && this.records[i - 1]!.seq > seq) i--;
    return this.records.slice(i);
  }

  clear(): void {
    this.records = [];
  }
}

/** Mutable emulator state shared by the request pipeline and the control surface. */
export interface EmulatorState {
  store: SecretStore;
  identities: IdentityStore;
  quotas: Quotas;
  faults: Required<Faults>;
  calls: CallLog;
  forceDeleteDelayMs: number;
  /** re-applies the start-up configuration */
  restoreInitial(): void;
}

export function makeControl(st: EmulatorState): AwsEmulatorControl {
  const control: AwsEmulatorControl = {
    reset: () => st.restoreInitial(),
    secrets: () => st.store.all().map(snapshotOf),
    secret: (name, region) => {
      const s = st.store.all().find((x) => x.name === name && (region === undefined || x.region === region));
      return s === undefined ? undefined : snapshotOf(s);
    },
    calls: () => st.calls.all(),
    clearCalls: () => st.calls.clear(),
    setPolicy: (akid, policy) => st.identities.setPolicy(akid, policy),
    addCredentials: (accessKeyId, secretAccessKey, policy, userName) => {
      const c: CredentialConfig = { accessKeyId, secretAccessKey };
      if (policy !== undefined) c.policy = policy;
      if (userName !== undefined) c.userName = userName;
      st.identities.addCredentials(c);
    },
    setFaults: (f) => {
      st.faults = normalizeFaults(f);
    },
    setThrottle: (setting) => st.quotas.configure(setting),
    addRole: (r) => st.identities.addRole(r),
    expireSessions: () => st.identities.expireSessions(),
    setForceDeleteDelay: (ms) => {
      st.forceDeleteDelayMs = ms;
    },
    onCall: (listener) => {
      st.calls.listeners.add(listener);
      return () => st.calls.listeners.delete(listener);
    },
    waitForCall: (predicate, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const past = st.calls.all().find(predicate);
        if (past !== undefined) return resolve(past);
        const timer = setTimeout(() => {
          off();
          reject(new Error(`no matching call within ${timeoutMs} ms`));
        }, timeoutMs);
        const off = control.onCall((c) => {
          if (!predicate(c)) return;
          clearTimeout(timer);
          off();
          resolve(c);
        });
      }),
  };
  return control;
}

/**
 * `/_emulator/...` over HTTP, for a benchmark or test in another process:
 * GET health | secrets | secrets/NAME | calls[?since=SEQ] | state;
 * POST reset | faults | throttle | policy | credentials | roles | expire-sessions | force-delete-delay | calls/clear;
 * DELETE calls.
 */
export function handleControlRequest(
  control: AwsEmulatorControl,
  st: EmulatorState,
  method: string,
  url: string,
  body: string,
): { status: number; body: unknown } {
  const u = new URL(url, 'http://emulator');
  const path = u.pathname.slice('/_emulator/'.length);
  const json = (): Record<string, unknown> => (body === '' ? {} : (JSON.parse(body) as Record<string, unknown>));
  const route = `${method} ${path.startsWith('secrets/') ? 'secrets/NAME' : path}`;
  switch (route) {
    case 'GET health':
      return { status: 200, body: { ok: true } };
    case 'GET secrets':
      return { status: 200, body: control.secrets() };
    case 'GET secrets/NAME': {
      const s = control.secret(decodeURIComponent(path.slice('secrets/'.length)), u.searchParams.get('region') ?? undefined);
      return s === undefined ? { status: 404, body: { error: 'no such secret' } } : { status: 200, body: s };
    }
    case 'GET calls': {
      const since = u.searchParams.get('since');
      return { status: 200, body: since === null ? control.calls() : st.calls.since(Number(since)) };
    }
    case 'GET state':
      return { status: 200, body: { throttle: st.quotas.rates(), faults: st.faults, forceDeleteDelayMs: st.forceDeleteDelayMs } };
    case 'DELETE calls':
    case 'POST calls/clear':
      control.clearCalls();
      return { status: 200, body: { ok: true } };
    case 'POST reset':
      control.reset();
      return { status: 200, body: { ok: true } };
    case 'POST faults':
      control.setFaults(json() as Faults);
      return { status: 200, body: { ok: true, faults: st.faults } };
    case 'POST throttle': {
      const b = json();
      control.setThrottle(b.rates !== undefined ? (b.rates as QuotaRates) : b.on === true);
      return { status: 200, body: { ok: true, throttle: st.quotas.rates() } };
    }
    case 'POST policy': {
      const b = json();
      control.setPolicy(String(b.accessKeyId), b.policy as PolicyDocument);
      return { status: 200, body: { ok: true } };
    }
    case 'POST credentials': {
      const b = json() as unknown as CredentialConfig;
      control.addCredentials(b.accessKeyId, b.secretAccessKey, b.policy, b.userName);
      return { status: 200, body: { ok: true } };
    }
    case 'POST roles':
      control.addRole(json() as unknown as RoleConfig);
      return { status: 200, body: { ok: true } };
    case 'POST expire-sessions':
      control.expireSessions();
      return { status: 200, body: { ok: true } };
    case 'POST force-delete-delay':
      control.setForceDeleteDelay(Number(json().ms ?? 0));
      return { status: 200, body: { ok: true } };
    default:
      return { status: 404, body: { error: `no control route ${method} /_emulator/${path}` } };
  }
}
