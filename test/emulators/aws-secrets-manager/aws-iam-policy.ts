/**
 * The subset of IAM identity-policy evaluation the emulator enforces:
 * Allow/Deny statements, Action/NotAction, Resource/NotResource as a string or a
 * list with `*` and `?` wildcards; explicit Deny wins; anything not allowed is
 * denied. `Condition` blocks are not evaluated (a statement with one is skipped
 * for Allow and applied for Deny, erring on the side of refusing).
 */
export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, unknown>;
}

export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

export type Decision = 'allow' | 'explicit-deny' | 'implicit-deny';

/** A policy that allows every action on every resource. */
export const ALLOW_ALL: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};

const patternCache = new Map<string, RegExp>();

function wildcard(pattern: string, caseInsensitive: boolean): RegExp {
  const key = `${caseInsensitive ? 'i' : 's'}${pattern}`;
  let re = patternCache.get(key);
  if (re === undefined) {
    const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    re = new RegExp(`^${body}$`, caseInsensitive ? 'is' : 's');
    if (patternCache.size > 5000) patternCache.clear();
    patternCache.set(key, re);
  }
  return re;
}

const list = (v: string | string[] | undefined): string[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v : [v];

function anyMatch(patterns: string[], value: string, caseInsensitive: boolean): boolean {
  return patterns.some((p) => wildcard(p, caseInsensitive).test(value));
}

function statementApplies(st: PolicyStatement, action: string, resource: string): boolean {
  const actions = list(st.Action);
  const notActions = list(st.NotAction);
  // IAM matches action names case-insensitively and ARNs case-sensitively.
  if (actions !== undefined && !anyMatch(actions, action, true)) return false;
  if (notActions !== undefined && anyMatch(notActions, action, true)) return false;
  if (actions === undefined && notActions === undefined) return false;
  const resources = list(st.Resource);
  const notResources = list(st.NotResource);
  if (resources !== undefined && !anyMatch(resources, resource, false)) return false;
  if (notResources !== undefined && anyMatch(notResources, resource, false)) return false;
  if (resources === undefined && notResources === undefined) return false;
  return true;
}

/** Evaluates `action` (e.g. `secretsmanager:CreateSecret`) on `resource` against a policy. */
export function evaluatePolicy(policy: PolicyDocument | undefined, action: string, resource: string): Decision {
  if (policy === undefined) return 'implicit-deny';
  const statements = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
  let allowed = false;
  for (const st of statements) {
    if (!statementApplies(st, action, resource)) continue;
    if (st.Effect === 'Deny') return 'explicit-deny';
    if (st.Effect === 'Allow' && st.Condition === undefined) allowed = true;
  }
  return allowed ? 'allow' : 'implicit-deny';
}

/** AWS's wording of an identity-policy refusal. */
export function accessDeniedMessage(principalArn: string, action: string, resource: string, decision: Decision): string {
  const why =
    decision === 'explicit-deny'
      ? 'with an explicit deny in an identity-based policy'
      : `because no identity-based policy allows the ${action} action`;
  return `User: ${principalArn} is not authorized to perform: ${action} on resource: ${resource} ${why}`;
}

/** Throws if the document is not a usable policy (fail fast on test typos). */
export function assertPolicy(policy: unknown): asserts policy is PolicyDocument {
  const p = policy as PolicyDocument | null;
  if (p === null || typeof p !== 'object' || p.Statement === undefined) {
    throw new Error('policy must be an object with a Statement');
  }
  const statements = Array.isArray(p.Statement) ? p.Statement : [p.Statement];
  for (const st of statements) {
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') throw new Error(`policy statement Effect must be Allow or Deny`);
  }
}
