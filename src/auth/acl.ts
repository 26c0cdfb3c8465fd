/**
 * ACL compilation and matching with Vault's semantics (vault/acl.go):
 * an exact rule wins outright; otherwise the longest plain prefix rule
 * (`foo/*`) competes with every matching segment-wildcard rule (`foo/+/bar`)
 * under Vault's priority order. Rules for the same pattern in several
 * policies merge (union), and a `deny` for that pattern wins.
 */
import type { Acl, Capability } from './auth-types.js';
import type { ParsedPolicy } from './policy-parser.js';

type Caps = ReadonlySet<Capability>;

const NONE: Caps = new Set<Capability>();

interface WildcardRule {
  /** pattern without a trailing `*` */
  wcPath: string;
  parts: string[];
  isPrefix: boolean;
  /** index of the first `+` in the pattern */
  firstWc: number;
  wildcards: number;
  caps: Caps;
}

/** Candidate for priority comparison (a plain prefix rule or a wildcard rule). */
interface Candidate {
  firstWc: number;
  isPrefix: boolean;
  wildcards: number;
  wcPath: string;
  caps: Caps;
}

function merge(existing: Set<Capability> | undefined, add: readonly Capability[]): Set<Capability> {
  if (existing?.has('deny')) return existing;
  if (add.includes('deny')) return new Set<Capability>(['deny']);
  const s = existing ?? new Set<Capability>();
  for (const c of add) s.add(c);
  return s;
}

function hasSegmentWildcards(path: string): boolean {
  return path === '+' || path.includes('/+') || path.startsWith('+/');
}

/** Vault's priority order: true when a has higher priority than b. */
function higher(a: Candidate, b: Candidate): boolean {
  if (a.firstWc !== b.firstWc) return a.firstWc > b.firstWc;
  if (a.isPrefix !== b.isPrefix) return !a.isPrefix;
  if (a.wildcards !== b.wildcards) return a.wildcards < b.wildcards;
  if (a.wcPath.length !== b.wcPath.length) return a.wcPath.length > b.wcPath.length;
  return a.wcPath > b.wcPath;
}

const nonDeny = (caps: Caps): boolean => caps.size > 0 && !caps.has('deny');

class CompiledAcl implements Acl {
  readonly root = false;
  private readonly exact = new Map<string, Set<Capability>>();
  private readonly prefix = new Map<string, Set<Capability>>();
  /** distinct prefix-rule lengths, longest first, for longest-prefix lookups */
  private readonly prefixLengths: number[];
  private readonly wildcards: WildcardRule[] = [];

  constructor(policies: readonly ParsedPolicy[]) {
    const wc = new Map<string, Set<Capability>>();
    for (const policy of policies) {
      for (const rule of policy.rules) {
        const p = rule.path;
        if (hasSegmentWildcards(p)) wc.set(p, merge(wc.get(p), rule.capabilities));
        else if (p.endsWith('*')) {
          const key = p.slice(0, -1);
          this.prefix.set(key, merge(this.prefix.get(key), rule.capabilities));
        } else this.exact.set(p, merge(this.exact.get(p), rule.capabilities));
      }
    }
    this.prefixLengths = [...new Set([...this.prefix.keys()].map((k) => k.length))].sort((a, b) => b - a);
    for (const [full, caps] of wc) {
      const isPrefix = full.endsWith('*');
      const wcPath = isPrefix ? full.slice(0, -1) : full;
      const parts = wcPath.split('/');
      this.wildcards.push({
        wcPath,
        parts,
        isPrefix,
        firstWc: full.indexOf('+'),
        wildcards: parts.filter((x) => x === '+').length,
        caps,
      });
    }
  }

  capabilities(path: string): Set<Capability> {
    return new Set(this.lookup(path.replace(/^\/+/, '')));
  }

  allows(path: string, cap: Capability): boolean {
    const caps = this.lookup(path.replace(/^\/+/, ''));
    return cap !== 'deny' && caps.has(cap) && !caps.has('deny');
  }

  allowsAnyUnder(path: string): boolean {
    const base = path.replace(/^\/+/, '').replace(/\/+$/, '');
    if (nonDeny(this.lookup(base)) || nonDeny(this.lookup(`${base}/`))) return true;
    const under = base === '' ? '' : `${base}/`;
    for (const [k, caps] of this.exact) if (k.startsWith(under) && nonDeny(caps)) return true;
    for (const [k, caps] of this.prefix) if (k.startsWith(under) && nonDeny(caps)) return true;
    const mount = base === '' ? [] : base.split('/');
    for (const w of this.wildcards) {
      if (!nonDeny(w.caps) || w.parts.length < mount.length) continue;
      const last = w.parts.length - 1;
      const ok = mount.every(
        (seg, i) => w.parts[i] === '+' || w.parts[i] === seg || (w.isPrefix && i === last && seg.startsWith(w.parts[i]!)),
      );
      if (ok) return true;
    }
    return false;
  }

  private lookup(path: string): Caps {
    const exact = this.exact.get(path) ?? (path.endsWith('/') ? this.exact.get(path.slice(0, -1)) : undefined);
    if (exact) return exact;
    let best: Candidate | undefined;
    for (const len of this.prefixLengths) {
      if (len > path.length) continue;
      const key = path.slice(0, len);
      const caps = this.prefix.get(key);
      if (caps) {
        best = { firstWc: len, isPrefix: true, wildcards: 0, wcPath: key, caps };
        break;
      }
    }
    if (this.wildcards.length > 0) {
      const parts = path.split('/');
      for (const w of this.wildcards) {
        if (!this.matchesWildcard(w, parts)) continue;
        if (!best || higher(w, best)) best = w;
      }
    }
    return best?.caps ?? NONE;
  }

  private matchesWildcard(w: WildcardRule, parts: string[]): boolean {
    if (parts.length < w.parts.length) return false;
    if (!w.isPrefix && parts.length !== w.parts.length) return false;
    const last = w.parts.length - 1;
    for (let i = 0; i <= last; i++) {
      const a = w.parts[i]!;
      const p = parts[i]!;
      if (a === '+' || a === p) continue;
      if (w.isPrefix && i === last && p.startsWith(a)) continue;
      return false;
    }
    return true;
  }
}

const ALL: readonly Capability[] = ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'subscribe'];

/** The ACL of the `root` policy: everything, everywhere. */
export const ROOT_ACL: Acl = {
  root: true,
  capabilities: () => new Set(ALL),
  allows: (_path, cap) => cap !== 'deny',
  allowsAnyUnder: () => true,
};

/** An ACL granting nothing (a token whose policies do not exist). */
export const EMPTY_ACL: Acl = compileAcl([]);

/** Compiles parsed policies into an ACL; a policy named `root` makes it the root ACL. */
export function compileAcl(policies: readonly ParsedPolicy[]): Acl {
  if (policies.some((p) => p.name === 'root')) return ROOT_ACL;
  return new CompiledAcl(policies);
}

/** Vault's `sys/capabilities` view: capability names, `["deny"]` when none, `["root"]` for root. */
export function capabilityNames(acl: Acl, path: string): string[] {
  if (acl.root) return ['root'];
  const caps = acl.capabilities(path);
  if (caps.size === 0 || caps.has('deny')) return ['deny'];
  return [...caps].sort();
}
