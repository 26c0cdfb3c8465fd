/** Shared auth types: the token a request carries and the ACL derived from its policies. */

export type Capability = 'create' | 'read' | 'update' | 'patch' | 'delete' | 'list' | 'sudo' | 'deny' | 'subscribe';

/** A stored token. The raw token is never stored: `hash` is its keyed HMAC. */
export interface TokenEntry {
  hash: string;
  accessor: string;
  policies: string[];
  meta: Record<string, string> | null;
  displayName: string;
  /** remaining uses; 0 = unlimited; -1 = last use taken (already revoked, the current request may finish) */
  numUses: number;
  /** unix seconds */
  creationTime: number;
  /** seconds; 0 = never expires */
  creationTtl: number;
  /** unix milliseconds, or null for no expiry */
  expireTime: number | null;
  explicitMaxTtl: number;
  period: number;
  renewable: boolean;
  orphan: boolean;
  path: string;
  /** accessor of the parent token, '' for root-created orphans */
  parent: string;
  /** keyed hash of the parent token (absent for orphans): indexes the tree for revocation */
  parentHash?: string;
  /** unix seconds of the last renewal, when renewed */
  lastRenewalTime?: number;
}

/** The compiled ACL of a set of policies. */
export interface Acl {
  readonly root: boolean;
  /** The capabilities granted on path (empty when none; contains only 'deny' when denied). */
  capabilities(path: string): Set<Capability>;
  allows(path: string, cap: Capability): boolean;
  /** True when any non-deny capability is granted on path or any path under it (CLI preflight rule). */
  allowsAnyUnder(path: string): boolean;
}
