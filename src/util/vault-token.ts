/** The client token of a request: `X-Vault-Token`, else `Authorization: Bearer <t>`. */
export function vaultTokenOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const t = headers['x-vault-token'];
  if (typeof t === 'string' && t !== '') return t;
  const a = headers.authorization;
  if (typeof a === 'string' && /^Bearer\s+/i.test(a)) return a.replace(/^Bearer\s+/i, '').trim() || undefined;
  return undefined;
}
