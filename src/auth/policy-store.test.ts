import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../errors.js';
import { openMemoryStore } from '../storage/memory.js';
import { DEFAULT_POLICY, PolicyStore } from './policy-store.js';

const RULES = 'path "secret/data/app/*" { capabilities = ["read"] }';

describe('PolicyStore', () => {
  it('writes (lowercased), reads, lists and deletes', async () => {
    const ps = new PolicyStore(openMemoryStore());
    await ps.write('  MyPol ', RULES);
    expect(await ps.read('mypol')).toEqual({ name: 'mypol', raw: RULES });
    expect(await ps.read('MYPOL')).toEqual({ name: 'mypol', raw: RULES });
    expect(await ps.list()).toEqual(['default', 'mypol', 'root']);
    await ps.delete('MyPol');
    expect(await ps.read('mypol')).toBeUndefined();
    expect(await ps.list()).toEqual(['default', 'root']);
  });

  it('refuses an invalid policy without storing it', async () => {
    const ps = new PolicyStore(openMemoryStore());
    await expect(ps.write('bad', 'path "a" { capabilities = ["nope"] }')).rejects.toThrow('failed to parse policy: path "a": invalid capability "nope"');
    expect(await ps.read('bad')).toBeUndefined();
    await expect(ps.write('empty', '  ')).rejects.toBeInstanceOf(BadRequestError);
  });

  it('protects root and default like Vault', async () => {
    const ps = new PolicyStore(openMemoryStore());
    await expect(ps.write('root', RULES)).rejects.toThrow('cannot update "root" policy');
    await expect(ps.write('ROOT', RULES)).rejects.toThrow('cannot update "root" policy');
    await expect(ps.delete('root')).rejects.toThrow('cannot delete "root" policy');
    await expect(ps.delete('default')).rejects.toThrow('cannot delete default policy');
    expect(await ps.read('root')).toEqual({ name: 'root', raw: '' });
  });

  it('has a built-in default policy that may be overwritten', async () => {
    const ps = new PolicyStore(openMemoryStore());
    expect((await ps.read('default'))?.raw).toBe(DEFAULT_POLICY);
    const acl = await ps.aclFor(['default']);
    expect(acl.allows('auth/token/lookup-self', 'read')).toBe(true);
    expect(acl.allows('auth/token/renew-self', 'update')).toBe(true);
    expect(acl.allows('auth/token/revoke-self', 'update')).toBe(true);
    expect(acl.allows('sys/capabilities-self', 'update')).toBe(true);
    expect(acl.allows('sys/internal/ui/mounts', 'read')).toBe(true);
    expect(acl.allows('auth/token/create', 'update')).toBe(false);
    expect(acl.allows('secret/data/x', 'read')).toBe(false);
    await ps.write('default', RULES);
    expect((await ps.read('default'))?.raw).toBe(RULES);
    expect((await ps.aclFor(['default'])).allows('auth/token/lookup-self', 'read')).toBe(false);
  });

  it('builds ACLs from several policies, ignoring missing ones; root wins', async () => {
    const ps = new PolicyStore(openMemoryStore());
    await ps.write('a', RULES);
    await ps.write('b', 'path "sys/mounts" { capabilities = ["read"] }');
    const acl = await ps.aclFor(['a', 'b', 'ghost']);
    expect(acl.allows('secret/data/app/x', 'read')).toBe(true);
    expect(acl.allows('sys/mounts', 'read')).toBe(true);
    expect((await ps.aclFor(['a', 'root'])).root).toBe(true);
    expect((await ps.aclFor([])).allows('x', 'read')).toBe(false);
  });

  it('caches compiled ACLs per policy set and invalidates on write and delete', async () => {
    const ps = new PolicyStore(openMemoryStore());
    await ps.write('a', RULES);
    const first = await ps.aclFor(['a', 'default']);
    expect(await ps.aclFor(['default', 'A'])).toBe(first);
    await ps.write('a', 'path "other/*" { capabilities = ["read"] }');
    const second = await ps.aclFor(['a', 'default']);
    expect(second).not.toBe(first);
    expect(second.allows('secret/data/app/x', 'read')).toBe(false);
    expect(second.allows('other/x', 'read')).toBe(true);
    await ps.delete('a');
    expect((await ps.aclFor(['a'])).allows('other/x', 'read')).toBe(false);
  });

  it('persists across instances over the same store', async () => {
    const store = openMemoryStore();
    await new PolicyStore(store).write('p', RULES);
    expect((await new PolicyStore(store).aclFor(['p'])).allows('secret/data/app/1', 'read')).toBe(true);
  });
});
