/** The auth domain: tokens, policies, ACLs. */
import type { SecureStore } from '../storage/barrier.js';
import { PolicyStore } from './policy-store.js';
import { TokenStore, type TokenStoreOptions } from './token-store.js';

export type { Acl, Capability, TokenEntry } from './auth-types.js';
export { capabilityNames, compileAcl, EMPTY_ACL, ROOT_ACL } from './acl.js';
export { type ParsedPolicy, type PathRule, parsePolicy } from './policy-parser.js';
export { DEFAULT_POLICY, policyName, PolicyStore } from './policy-store.js';
export {
  type CreatedToken,
  type CreateTokenRequest,
  DEFAULT_TOKEN_TTL,
  MAX_TOKEN_TTL,
  type RenewResult,
  TokenStore,
  type TokenStoreOptions,
} from './token-store.js';

export interface Auth {
  tokens: TokenStore;
  policies: PolicyStore;
}

/** Wires the token and policy stores over one sealed store. */
export function createAuth(store: SecureStore, opts: TokenStoreOptions = {}): Auth {
  return { tokens: new TokenStore(store, opts), policies: new PolicyStore(store) };
}
