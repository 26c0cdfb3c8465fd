/**
 * Named ACL policies stored under `sys/policy/<name>`, plus the built-in
 * `root` (never stored) and `default` (built in until overwritten) policies,
 * and a cache of compiled ACLs per policy set.
 */
import { BadRequestError } from '../errors.js';
import type { SecureStore } from '../storage/barrier.js';
import { compileAcl, ROOT_ACL } from './acl.js';
import type { Acl } from './auth-types.js';
import { type ParsedPolicy, parsePolicy } from './policy-parser.js';

const PREFIX = 'sys/policy/';

/**
 * Vault's default policy, minus the paths this server does not serve
 * (cubbyhole, leases, wrapping, tools, identity). `sys/internal/ui/mounts`
 * lets any token run the CLI's mount preflight listing.
 */
export const DEFAULT_POLICY = `
# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Allow a token to look up its resultant ACL from all policies. This is useful
# for UIs. It is an internal path because the format may change at any time
# based on how the internal ACL features and capabilities change.
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# Allow listing the mounts the token can reach (the CLI's KV preflight)
path "sys/internal/ui/mounts" {
    capabilities = ["read"]
}
`;

interface StoredPolicy {
  name: string;
  raw: string;
}

/** Lowercased and trimmed, like Vault's sanitizeName. */
export function policyName(name: string): string {
  return name.trim().toLowerCase();
}

export class PolicyStore {
  private readonly parsed = new Map<string, ParsedPolicy | null>();
  private readonly acls = new Map<string, Acl>();
  /** by the policies array itself (a cached token entry passes the same one on every request) */
  private readonly byArray = new WeakMap<readonly string[], { gen: number; acl: Acl }>();
  /** bumped on every change so a read racing a write never caches stale data */
  private generation = 0;
  private defaultParsed: ParsedPolicy | undefined;

  constructor(private readonly store: SecureStore) {}

  /** Creates or replaces a policy after validating it; returns the parsed form. */
  async write(name: string, raw: string): Promise<ParsedPolicy> {
    const n = policyName(name);
    if (n === '') throw new BadRequestError('policy name must be provided in the URL');
    if (n === 'root') throw new BadRequestError('cannot update "root" policy');
    if (raw.trim() === '') throw new BadRequestError("'policy' parameter not supplied or empty");
    const parsed = parsePolicy(n, raw);
    await this.store.transaction(async (tx) => {
      await tx.putJson(PREFIX + n, { name: n, raw } satisfies StoredPolicy);
      tx.onCommit(() => this.invalidate());
    });
    return parsed;
  }

  /** The raw text, or undefined when it does not exist. `root` reads as empty rules like Vault. */
  async read(name: string): Promise<{ name: string; raw: string } | undefined> {
    const n = policyName(name);
    if (n === 'root') return { name: 'root', raw: '' };
    const stored = await this.store.read((tx) => tx.getJson<StoredPolicy>(PREFIX + n));
    if (stored) return { name: n, raw: stored.raw };
    if (n === 'default') return { name: 'default', raw: DEFAULT_POLICY };
    return undefined;
  }

  /** Sorted names, `default` included, `root` last (Vault appends it). */
  async list(): Promise<string[]> {
    const keys = await this.store.read((tx) => tx.list(PREFIX));
    const names = new Set(keys.map((k) => k.slice(PREFIX.length)));
    names.add('default');
    return [...[...names].sort(), 'root'];
  }

  async delete(name: string): Promise<void> {
    const n = policyName(name);
    if (n === 'root') throw new BadRequestError('cannot delete "root" policy');
    // Vault's wording for default differs from root's (no quotes).
    if (n === 'default') throw new BadRequestError('cannot delete default policy');
    await this.store.transaction(async (tx) => {
      await tx.delete(PREFIX + n);
      tx.onCommit(() => this.invalidate());
    });
  }

  /** The compiled ACL of a token's policies (missing policies grant nothing). Cached per set. */
  async aclFor(policies: readonly string[]): Promise<Acl> {
    const memo = this.byArray.get(policies);
    if (memo && memo.gen === this.generation) return memo.acl;
    const gen = this.generation;
    const acl = await this.compiledFor(policies);
    if (gen === this.generation) this.byArray.set(policies, { gen, acl });
    return acl;
  }

  private async compiledFor(policies: readonly string[]): Promise<Acl> {
    const names = [...new Set(policies.map(policyName))].filter((n) => n !== '').sort();
    if (names.includes('root')) return ROOT_ACL;
    const key = names.join('\n');
    const cached = this.acls.get(key);
    if (cached) return cached;
    const gen = this.generation;
    const parsed: ParsedPolicy[] = [];
    for (const n of names) {
      const p = await this.parsedPolicy(n, gen);
      if (p) parsed.push(p);
    }
    const acl = compileAcl(parsed);
    if (gen === this.generation) this.acls.set(key, acl);
    return acl;
  }

  /** Drops every cached policy and ACL (after a write or delete, or a change made by another instance). */
  invalidate(): void {
    this.generation++;
    this.parsed.clear();
    this.acls.clear();
  }

  private async parsedPolicy(name: string, gen: number): Promise<ParsedPolicy | undefined> {
    const hit = this.parsed.get(name);
    if (hit !== undefined) return hit ?? undefined;
    const stored = await this.store.read((tx) => tx.getJson<StoredPolicy>(PREFIX + name));
    let p: ParsedPolicy | null = null;
    if (stored) {
      try {
        p = parsePolicy(name, stored.raw);
      } catch {
        // Validated on write; an unparsable stored policy grants nothing rather than failing every request.
        p = null;
      }
    } else if (name === 'default') p = this.defaultParsed ??= parsePolicy('default', DEFAULT_POLICY);
    if (gen === this.generation) this.parsed.set(name, p);
    return p ?? undefined;
  }
}
