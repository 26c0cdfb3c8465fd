/**
 * Every destination type, one line each: a `Record<DestinationType, ...>` so a
 * missing entry fails to compile. Types not implemented yet have their real
 * connection fields (for reads, masking and validation messages) and
 * `implemented: false`; the API answers 400 `unsupported destination type`.
 */
import { BadRequestError } from '../errors.js';
import type { FieldSpec } from '../http/field-coercion.js';
import { compileTemplate } from '../sync/name-template.js';
import { awsSmSpec } from './aws-sm/aws-sm-spec.js';
import {
  DESTINATION_TYPES,
  DestinationError,
  type ConnectionFieldSpec,
  type DestinationOptions,
  type DestinationType,
  type DestinationTypeSpec,
  type Granularity,
} from './destination.js';
import { validateNetworkOptions } from './net-guard.js';

/** Request fields shared by every type (the response names granularity `granularity_level`). */
export const DESTINATION_OPTION_FIELDS: Record<string, FieldSpec> = {
  secret_name_template: { type: 'string' },
  granularity: { type: 'string' },
  custom_tags: { type: 'kv-pairs' },
  allowed_ipv4_addresses: { type: 'comma-string-slice' },
  allowed_ipv6_addresses: { type: 'comma-string-slice' },
  allowed_ports: { type: 'comma-int-slice' },
  disable_strict_networking: { type: 'bool' },
};

/** The options of a new destination of `type` before the request's fields are applied. */
export function defaultDestinationOptions(type: DestinationType): DestinationOptions {
  const spec = destinationTypes[type];
  return {
    granularity: spec.defaultGranularity,
    secretNameTemplate: spec.defaultTemplate,
    customTags: {},
    allowedIpv4Addresses: [],
    allowedIpv6Addresses: [],
    allowedPorts: [],
    disableStrictNetworking: false,
  };
}

/** Validates options common to every type plus the type's own rules (tags...); throws BadRequestError naming the field. */
export function validateDestination(type: DestinationType, conn: Record<string, unknown>, options: DestinationOptions): void {
  const spec = destinationTypes[type];
  if (options.granularity !== 'secret-path' && options.granularity !== 'secret-key') {
    throw new BadRequestError(`granularity: invalid value ${JSON.stringify(options.granularity)}; expected "secret-path" or "secret-key"`);
  }
  const tmpl = compileTemplate(options.secretNameTemplate);
  if (tmpl.render({}).length === 0 && tmpl.referencedFields.size === 0) {
    throw new BadRequestError('secret_name_template: renders an empty name');
  }
  // Without SecretKey every KV key renders the same name: the keys would overwrite one another at the destination.
  if (options.granularity === 'secret-key' && !tmpl.referencedFields.has('SecretKey')) {
    throw new BadRequestError('secret_name_template: must use {{ .SecretKey }} with granularity "secret-key", or every key of a secret is written to the same external name');
  }
  if (!spec.supportsTags && Object.keys(options.customTags).length > 0) {
    throw new BadRequestError(`custom_tags: not supported by destination type ${type}`);
  }
  validateNetworkOptions(options);
  for (const [field, f] of Object.entries(spec.connectionFields)) {
    if (f.required && (conn[field] === undefined || conn[field] === '')) throw new BadRequestError(`${field}: required`);
  }
  spec.validate(conn, options);
}

export function isDestinationType(s: string): s is DestinationType {
  return (DESTINATION_TYPES as readonly string[]).includes(s);
}

// ---------------------------------------------------------------- stubs

function unimplemented(
  type: DestinationType,
  defaultTemplate: string,
  defaultGranularity: Granularity,
  supportsTags: boolean,
  connectionFields: Record<string, ConnectionFieldSpec>,
  normalizeName: (name: string) => string,
): DestinationTypeSpec {
  return {
    type,
    implemented: false,
    defaultTemplate,
    defaultGranularity,
    connectionFields,
    supportsTags,
    validate: () => {},
    normalizeName,
    createClient: () => {
      throw new DestinationError('CLIENT_SIDE_ERROR', `unsupported destination type ${type}`, { retryable: false });
    },
  };
}

const str: FieldSpec = { type: 'string' };
const list: FieldSpec = { type: 'comma-string-slice' };

function replaceInvalid(name: string, invalid: RegExp, by: string, max: number): string {
  return name.replace(invalid, by).slice(0, max);
}

export const destinationTypes: Record<DestinationType, DestinationTypeSpec> = {
  'aws-sm': awsSmSpec,
  'azure-kv': unimplemented(
    'azure-kv',
    'vault-{{ .MountAccessor }}-{{ .SecretPath }}',
    'secret-path',
    true,
    {
      key_vault_uri: { spec: str, required: true, immutable: true },
      client_id: { spec: str, required: true },
      tenant_id: { spec: str, required: true, immutable: true },
      client_secret: { spec: str, credential: true },
      cloud: { spec: str, immutable: true },
    },
    (n) => replaceInvalid(n, /[^0-9a-zA-Z-]/g, '-', 127),
  ),
  'gcp-sm': unimplemented(
    'gcp-sm',
    'vault-{{ .MountAccessor }}-{{ .SecretPath }}',
    'secret-path',
    true,
    {
      credentials: { spec: str, credential: true },
      project_id: { spec: str },
      replication_locations: { spec: list },
      global_kms_key: { spec: str },
      locational_kms_keys: { spec: { type: 'kv-pairs' } },
    },
    (n) => replaceInvalid(n, /[^A-Za-z0-9_-]/g, '-', 255),
  ),
  gh: unimplemented(
    'gh',
    'VAULT_{{ .MountAccessor | uppercase }}_{{ .SecretPath | uppercase }}_{{ .SecretKey | uppercase }}',
    'secret-key',
    false,
    {
      access_token: { spec: str, credential: true },
      app_name: { spec: str },
      installation_id: { spec: { type: 'int', unsigned: true } },
      enterprise_url: { spec: str },
      secrets_location: { spec: str },
      repository_owner: { spec: str, immutable: true },
      repository_name: { spec: str, immutable: true },
      environment_name: { spec: str },
      organization_name: { spec: str },
      organization_visibility: { spec: str },
      selected_repository_names: { spec: list },
    },
    (n) => replaceInvalid(n.toUpperCase(), /[^A-Z0-9_]/g, '_', 255),
  ),
  'vercel-project': unimplemented(
    'vercel-project',
    'VAULT_{{ .MountAccessor | uppercase }}_{{ .SecretPath | uppercase }}_{{ .SecretKey | uppercase }}',
    'secret-key',
    false,
    {
      access_token: { spec: str, credential: true, required: true },
      project_id: { spec: str, required: true, immutable: true },
      deployment_environments: { spec: list, required: true },
      team_id: { spec: str },
    },
    (n) => replaceInvalid(n, /[^A-Za-z0-9_]/g, '_', 256),
  ),
};
