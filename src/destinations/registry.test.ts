import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../errors.js';
import { compileTemplate } from '../sync/name-template.js';
import { DESTINATION_TYPES, DestinationError } from './destination.js';
import { defaultDestinationOptions, destinationTypes, isDestinationType, validateDestination } from './registry.js';

describe('destination registry', () => {
  it('has every type; only aws-sm is implemented', () => {
    expect(Object.keys(destinationTypes).sort()).toEqual([...DESTINATION_TYPES].sort());
    expect(Object.values(destinationTypes).filter((s) => s.implemented).map((s) => s.type)).toEqual(['aws-sm']);
    for (const [type, spec] of Object.entries(destinationTypes)) expect(spec.type).toBe(type);
  });

  it('default templates compile and render the documented names', () => {
    const ctx = { MountAccessor: 'kv_1234', SecretPath: 'my-secret', SecretKey: 'foo' };
    const render = (t: keyof typeof destinationTypes) => {
      const spec = destinationTypes[t];
      return spec.normalizeName(compileTemplate(spec.defaultTemplate).render(ctx));
    };
    expect(render('aws-sm')).toBe('vault/kv_1234/my-secret');
    expect(render('gh')).toBe('VAULT_KV_1234_MY_SECRET_FOO');
    expect(render('azure-kv')).toBe('vault-kv-1234-my-secret');
    expect(destinationTypes.gh.defaultGranularity).toBe('secret-key');
    expect(destinationTypes['aws-sm'].defaultGranularity).toBe('secret-path');
  });

  it('declares credentials and immutable fields as the API documents them', () => {
    const creds = (t: keyof typeof destinationTypes) =>
      Object.entries(destinationTypes[t].connectionFields)
        .filter(([, f]) => f.credential)
        .map(([k]) => k);
    const immutable = (t: keyof typeof destinationTypes) =>
      Object.entries(destinationTypes[t].connectionFields)
        .filter(([, f]) => f.immutable)
        .map(([k]) => k);
    expect(creds('aws-sm')).toEqual(['access_key_id', 'secret_access_key']);
    expect(creds('azure-kv')).toEqual(['client_secret']);
    expect(creds('gcp-sm')).toEqual(['credentials']);
    expect(creds('gh')).toEqual(['access_token']);
    expect(creds('vercel-project')).toEqual(['access_token']);
    expect(immutable('aws-sm')).toEqual(['region']);
    expect(immutable('azure-kv')).toEqual(['key_vault_uri', 'tenant_id', 'cloud']);
    expect(immutable('gh')).toEqual(['repository_owner', 'repository_name']);
    expect(immutable('vercel-project')).toEqual(['project_id']);
  });

  it('unimplemented types refuse to build a client', () => {
    expect(() => destinationTypes.gh.createClient({}, defaultDestinationOptions('gh'))).toThrow(DestinationError);
  });

  it('validateDestination checks the common options and the type', () => {
    const ok = defaultDestinationOptions('aws-sm');
    validateDestination('aws-sm', {}, ok);
    expect(() => validateDestination('aws-sm', {}, { ...ok, secretNameTemplate: '{{ .Nope }}' })).toThrow(/can't evaluate field Nope/);
    expect(() => validateDestination('aws-sm', {}, { ...ok, granularity: 'secret' as never })).toThrow(/^granularity: /);
    expect(() => validateDestination('aws-sm', {}, { ...ok, allowedPorts: [0] })).toThrow(/^allowed_ports: /);
    expect(() => validateDestination('aws-sm', {}, { ...ok, allowedIpv4Addresses: ['x'] })).toThrow(/^allowed_ipv4_addresses: /);
    expect(() => validateDestination('aws-sm', { region: 'nowhere' }, ok)).toThrow(/^region: /);
    expect(() => validateDestination('aws-sm', {}, { ...ok, customTags: { 'aws:x': 'y' } })).toThrow(BadRequestError);
    expect(() => validateDestination('gh', {}, { ...defaultDestinationOptions('gh'), customTags: { a: 'b' } })).toThrow(/^custom_tags: not supported/);
    expect(() => validateDestination('vercel-project', {}, defaultDestinationOptions('vercel-project'))).toThrow(/^access_token: required/);
    expect(() => validateDestination('aws-sm', {}, { ...ok, secretNameTemplate: '' })).toThrow(/renders an empty name/);
  });

  it('isDestinationType', () => {
    expect(isDestinationType('aws-sm')).toBe(true);
    expect(isDestinationType('github-apps')).toBe(false);
  });
});
