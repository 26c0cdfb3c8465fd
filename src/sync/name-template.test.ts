import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../errors.js';
import { compileTemplate, renderTemplate, type NameTemplateContext } from './name-template.js';

const ctx: NameTemplateContext = {
  DestinationType: 'aws-sm',
  DestinationName: 'my-store-1',
  NamespacePath: '',
  NamespaceBaseName: '',
  NamespaceID: 'root',
  MountPath: 'my-kv/',
  MountBaseName: 'my-kv',
  MountAccessor: 'kv_6f196233',
  SecretPath: 'team/app/db',
  SecretBaseName: 'db',
};

function errorOf(text: string): string {
  try {
    compileTemplate(text);
  } catch (e) {
    expect(e).toBeInstanceOf(BadRequestError);
    return (e as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(text)} to fail`);
}

describe('name templates: defaults', () => {
  it('renders the aws-sm default as in the brief', () => {
    expect(renderTemplate('vault/{{ .MountAccessor }}/{{ .SecretPath }}', { ...ctx, SecretPath: 'my-secret' })).toBe(
      'vault/kv_6f196233/my-secret',
    );
  });

  it('renders the gh default with secret-key granularity', () => {
    const t = compileTemplate('VAULT_{{ .MountAccessor | uppercase }}_{{ .SecretPath | uppercase }}_{{ .SecretKey | uppercase }}');
    expect(t.render({ MountAccessor: 'kv_1234', SecretPath: 'my-secret', SecretKey: 'foo' })).toBe('VAULT_KV_1234_MY-SECRET_FOO');
    expect([...t.referencedFields].sort()).toEqual(['MountAccessor', 'SecretKey', 'SecretPath']);
  });

  it('renders SecretKey as empty with secret-path granularity (as Vault does)', () => {
    const t = compileTemplate('VAULT_{{ .SecretPath | uppercase }}_{{ .SecretKey | uppercase }}');
    expect(t.render({ SecretPath: 'x' })).toBe('VAULT_X_');
  });
});

describe('name templates: syntax', () => {
  it('keeps literal text and handles no actions', () => {
    expect(renderTemplate('plain/name', ctx)).toBe('plain/name');
    expect(renderTemplate('', ctx)).toBe('');
  });

  it('renders every field', () => {
    const all = '{{.DestinationType}}|{{.DestinationName}}|{{.NamespacePath}}|{{.NamespaceBaseName}}|{{.NamespaceID}}|{{.MountPath}}|{{.MountBaseName}}|{{.MountAccessor}}|{{.SecretPath}}|{{.SecretBaseName}}|{{.SecretKey}}';
    expect(renderTemplate(all, { ...ctx, SecretKey: 'k' })).toBe('aws-sm|my-store-1|||root|my-kv/|my-kv|kv_6f196233|team/app/db|db|k');
  });

  it('supports pipelines, chained pipes and the function-call form', () => {
    expect(renderTemplate('{{ .SecretPath | uppercase }}', ctx)).toBe('TEAM/APP/DB');
    expect(renderTemplate('{{ uppercase .SecretPath }}', ctx)).toBe('TEAM/APP/DB');
    expect(renderTemplate('{{ .MountPath | lowercase }}', { MountPath: 'My-KV' })).toBe('my-kv');
    expect(renderTemplate('{{ .SecretPath | replace "/" "_" }}', ctx)).toBe('team_app_db');
    expect(renderTemplate('{{ replace "/" "-" .SecretPath }}', ctx)).toBe('team-app-db');
    expect(renderTemplate('{{ .SecretPath | replace "/" "_" | uppercase }}', ctx)).toBe('TEAM_APP_DB');
    expect(renderTemplate('{{ uppercase (replace "/" "." .SecretPath) }}', ctx)).toBe('TEAM.APP.DB');
    expect(renderTemplate('{{ (.SecretPath) | uppercase }}', ctx)).toBe('TEAM/APP/DB');
    expect(renderTemplate('{{ "lit" | uppercase }}', ctx)).toBe('LIT');
    expect(renderTemplate('{{.SecretPath|replace "/" ""|uppercase}}', ctx)).toBe('TEAMAPPDB');
  });

  it('replace follows strings.ReplaceAll (empty find inserts around every rune)', () => {
    expect(renderTemplate('{{ replace "" "-" .SecretBaseName }}', ctx)).toBe('-d-b-');
    expect(renderTemplate('{{ replace "a" "b" .SecretPath }}', { SecretPath: 'aaa' })).toBe('bbb');
  });

  it('upper/lowercase map rune by rune like Go', () => {
    expect(renderTemplate('{{ .SecretPath | uppercase }}', { SecretPath: 'straße-é' })).toBe('STRAßE-É');
  });

  it('honours trim markers', () => {
    expect(renderTemplate('a  \n {{- .SecretBaseName -}} \n\t b', ctx)).toBe('adbb');
    expect(renderTemplate('a {{- .SecretBaseName }} b', ctx)).toBe('adb b');
    expect(renderTemplate('a {{ .SecretBaseName -}} b', ctx)).toBe('a dbb');
  });

  it('allows whitespace and newlines inside actions', () => {
    expect(renderTemplate('{{\n  .SecretBaseName\n  | uppercase\n}}', ctx)).toBe('DB');
  });

  it('supports Go string literal escapes and raw strings', () => {
    expect(renderTemplate('{{ "a\\tb\\x41\\u00e9\\101\\"\\\\" }}', ctx)).toBe('a\tbAéA"\\');
    expect(renderTemplate('{{ `raw\\n` }}', ctx)).toBe('raw\\n');
    expect(renderTemplate('{{ replace "}}" "x" .SecretPath }}', { SecretPath: 'a}}b' })).toBe('axb');
  });

  it('skips comments', () => {
    expect(renderTemplate('a{{/* note */}}b{{- /* trimmed */ -}} c', ctx)).toBe('abc');
  });
});

describe('name templates: errors are 400s naming the problem', () => {
  it('unknown field', () => {
    const msg = errorOf('vault/{{ .Bogus }}');
    expect(msg).toContain("template: secret_name_template:1:10: executing \"secret_name_template\" at <.Bogus>: can't evaluate field Bogus");
  });

  it('field of a string', () => {
    expect(errorOf('{{ .SecretPath.Foo }}')).toContain("can't evaluate field Foo in type string");
  });

  it('unknown function', () => {
    expect(errorOf('{{ .SecretPath | sha256 }}')).toContain('function "sha256" not defined');
  });

  it('wrong arity', () => {
    expect(errorOf('{{ .SecretPath | replace "a" }}')).toContain('wrong number of args for replace: want 3 got 2');
    expect(errorOf('{{ uppercase }}')).toContain('wrong number of args for uppercase: want 1 got 0');
    expect(errorOf('{{ uppercase .SecretPath .MountPath }}')).toContain('want 1 got 2');
    expect(errorOf('{{ .SecretPath | uppercase .MountPath }}')).toContain('want 1 got 2');
    expect(errorOf('{{ uppercase lowercase .SecretPath }}')).toContain('wrong number of args for uppercase: want 1 got 2');
    expect(errorOf('{{ replace "a" "b" lowercase }}')).toContain('wrong number of args for lowercase: want 1 got 0');
  });

  it('syntax errors', () => {
    expect(errorOf('{{ .SecretPath ')).toContain('unclosed action');
    expect(errorOf('{{ }}')).toContain('missing value for command');
    expect(errorOf('{{ .SecretPath | }}')).toContain('missing value for command');
    expect(errorOf('{{ "abc }}')).toContain('unterminated quoted string');
    expect(errorOf('{{ "\\q" }}')).toContain('invalid syntax in quoted string');
    expect(errorOf('{{ .SecretPath | "x" }}')).toContain('non executable command in pipeline stage 2');
    expect(errorOf('{{ .SecretPath .MountPath }}')).toContain("can't give argument to non-function .SecretPath");
    expect(errorOf('{{ uppercase (.SecretPath }}')).toContain('unclosed left paren');
    expect(errorOf('{{ .SecretPath) }}')).toContain('unexpected right paren');
    expect(errorOf('{{ . }}')).toContain('bare dot');
    expect(errorOf('{{ if .SecretPath }}x{{ end }}')).toContain('"if" is not supported');
    expect(errorOf('{{ $x := .SecretPath }}')).toContain('variables are not supported');
    expect(errorOf('{{ 42 }}')).toContain('numbers are not supported');
    expect(errorOf('{{ .SecretPath"x" }}')).toContain('in operand');
    expect(errorOf('{{ .SecretPath {{ .MountPath }}')).toContain('unclosed action');
    expect(errorOf('{{/* open }}')).toContain('unclosed comment');
  });

  it('reports the line of a multi-line template', () => {
    expect(errorOf('a\nb\n  {{ .Nope }}')).toContain('secret_name_template:3:6:');
  });

  it('the message is a clear 400', () => {
    try {
      compileTemplate('{{ .Nope }}');
    } catch (e) {
      expect((e as BadRequestError).status).toBe(400);
      expect((e as Error).message.startsWith('invalid secret_name_template: ')).toBe(true);
    }
  });
});
