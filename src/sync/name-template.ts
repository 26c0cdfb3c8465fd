/**
 * `secret_name_template`: the subset of Go's text/template that Vault's
 * Secrets Sync accepts — literal text, `{{ .Field }}` actions, pipelines
 * (`{{ .SecretPath | replace "/" "_" | uppercase }}`), the function-call form
 * (`{{ uppercase .SecretPath }}`), parenthesised sub-pipelines, trim markers
 * (`{{-` / `-}}`), comments and Go string literals.
 *
 * Everything a Go template would only report when executed (unknown field,
 * unknown function, wrong number of arguments) is reported by
 * `compileTemplate`, because every value is a string and every function's
 * signature is known; a template that compiles always renders.
 *
 * `SecretKey` with `secret-path` granularity renders as the empty string, as in
 * Vault (the field exists and is simply unset); `referencedFields` lets the
 * caller warn about or refuse that combination.
 */
import { BadRequestError } from '../errors.js';

export const TEMPLATE_FIELDS = [
  'DestinationType',
  'DestinationName',
  'NamespacePath',
  'NamespaceBaseName',
  'NamespaceID',
  'MountPath',
  'MountBaseName',
  'MountAccessor',
  'SecretPath',
  'SecretBaseName',
  'SecretKey',
] as const;

export type TemplateField = (typeof TEMPLATE_FIELDS)[number];

/** Values a template is rendered with; absent fields render as "". */
export type NameTemplateContext = Partial<Record<TemplateField, string>>;

export interface CompiledTemplate {
  readonly source: string;
  /** the fields the template uses, e.g. to check `SecretKey` against the granularity */
  readonly referencedFields: ReadonlySet<TemplateField>;
  render(ctx: NameTemplateContext): string;
}

const TEMPLATE_NAME = 'secret_name_template';
const FIELD_SET: ReadonlySet<string> = new Set(TEMPLATE_FIELDS);

interface FunctionDef {
  arity: number;
  fn: (...args: string[]) => string;
}

/** Vault's sdk/helper/template functions that Secrets Sync documents. */
const FUNCTIONS: Record<string, FunctionDef> = {
  uppercase: { arity: 1, fn: (s) => mapRunes(s, (c) => c.toUpperCase()) },
  lowercase: { arity: 1, fn: (s) => mapRunes(s, (c) => c.toLowerCase()) },
  // Vault: replace(find, replace, input) so that the piped value comes last.
  replace: { arity: 3, fn: (find, repl, input) => goReplaceAll(input, find, repl) },
};

const GO_KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue', 'nil', 'true', 'false']);

// ---------------------------------------------------------------- AST

type Operand =
  | { kind: 'field'; name: TemplateField; pos: Pos }
  | { kind: 'string'; value: string; pos: Pos }
  | { kind: 'func'; name: string; pos: Pos }
  | { kind: 'pipe'; pipe: Pipeline; pos: Pos };

interface Command {
  operands: Operand[];
  pos: Pos;
}

interface Pipeline {
  commands: Command[];
  pos: Pos;
}

type Node = { kind: 'text'; text: string } | { kind: 'action'; pipe: Pipeline };

interface Pos {
  line: number;
  col: number;
}

// ---------------------------------------------------------------- public

const compiledCache = new Map<string, CompiledTemplate>();

/** compileTemplate, memoised by text (a few distinct templates serve every job). */
export function compiledTemplate(text: string): CompiledTemplate {
  const hit = compiledCache.get(text);
  if (hit) return hit;
  const t = compileTemplate(text);
  if (compiledCache.size >= 256) compiledCache.clear();
  compiledCache.set(text, t);
  return t;
}

/** Parses and checks a template; throws BadRequestError naming the problem. */
export function compileTemplate(text: string): CompiledTemplate {
  if (typeof text !== 'string') throw fail(undefined, 'template must be a string');
  const nodes = new Parser(text).parseAll();
  const referenced = new Set<TemplateField>();
  for (const n of nodes) if (n.kind === 'action') checkPipeline(n.pipe, referenced);
  return {
    source: text,
    referencedFields: referenced,
    render(ctx: NameTemplateContext): string {
      let out = '';
      for (const n of nodes) out += n.kind === 'text' ? n.text : evalPipeline(n.pipe, ctx);
      return out;
    },
  };
}

/** Convenience for one-off rendering (compiles every call). */
export function renderTemplate(text: string, ctx: NameTemplateContext): string {
  return compileTemplate(text).render(ctx);
}

// ---------------------------------------------------------------- errors

function fail(pos: Pos | undefined, msg: string): BadRequestError {
  const where = pos ? `${pos.line}:${pos.col}` : '1';
  return new BadRequestError(`invalid secret_name_template: template: ${TEMPLATE_NAME}:${where}: ${msg}`);
}

function execFail(pos: Pos, at: string, msg: string): BadRequestError {
  return fail(pos, `executing "${TEMPLATE_NAME}" at <${at}>: ${msg}`);
}

// ---------------------------------------------------------------- parser

class Parser {
  private i = 0;
  private actionEnd = 0;

  constructor(private readonly src: string) {}

  parseAll(): Node[] {
    const nodes: Node[] = [];
    let trimNextText = false;
    while (this.i <= this.src.length) {
      const open = this.src.indexOf('{{', this.i);
      let text = open < 0 ? this.src.slice(this.i) : this.src.slice(this.i, open);
      if (trimNextText) text = text.replace(/^[ \t\r\n]+/, '');
      trimNextText = false;
      if (open < 0) {
        if (text) nodes.push({ kind: 'text', text });
        break;
      }
      // `{{- ` trims the whitespace before the action; the marker needs a space after it.
      const leftTrim = this.src[open + 2] === '-' && isSpace(this.src[open + 3]);
      if (leftTrim) text = text.replace(/[ \t\r\n]+$/, '');
      if (text) nodes.push({ kind: 'text', text });
      this.i = open + 2 + (leftTrim ? 2 : 0);
      const { pipe, rightTrim } = this.parseAction(this.posOf(open));
      if (pipe) nodes.push({ kind: 'action', pipe });
      trimNextText = rightTrim;
    }
    return nodes;
  }

  private posOf(index: number): Pos {
    let line = 1;
    let lineStart = 0;
    for (let k = 0; k < index; k++) {
      if (this.src[k] === '\n') {
        line++;
        lineStart = k + 1;
      }
    }
    return { line, col: index - lineStart + 1 };
  }

  /** Parses from after `{{` (and its trim marker) to after `}}`. Returns undefined pipe for a comment. */
  private parseAction(start: Pos): { pipe: Pipeline | undefined; rightTrim: boolean } {
    const close = this.findClose(start);
    this.actionEnd = close.index;
    this.skipSpace();
    if (this.src.startsWith('/*', this.i)) {
      const end = this.src.indexOf('*/', this.i + 2);
      if (end < 0 || end + 2 > close.index) throw fail(start, 'unclosed comment');
      this.i = end + 2;
      this.skipSpace();
      if (this.i !== close.index) throw fail(start, 'comment ends before closing delimiter');
      this.i = close.after;
      return { pipe: undefined, rightTrim: close.rightTrim };
    }
    const pipe = this.parsePipeline(start, false);
    if (this.i < this.actionEnd) throw fail(this.posOf(this.i), `unexpected ${describe(this.src[this.i]!)} in command`);
    this.i = close.after;
    return { pipe, rightTrim: close.rightTrim };
  }

  /** Finds the closing `}}` of the action, skipping over quoted strings. */
  private findClose(start: Pos): { index: number; after: number; rightTrim: boolean } {
    let k = this.i;
    while (k < this.src.length) {
      const c = this.src[k];
      if (c === '"' || c === '`' || c === "'") {
        k = this.skipQuoted(k, start);
        continue;
      }
      if (c === '/' && this.src[k + 1] === '*') {
        const end = this.src.indexOf('*/', k + 2);
        if (end < 0) throw fail(start, 'unclosed comment');
        k = end + 2;
        continue;
      }
      if (c === '}' && this.src[k + 1] === '}') {
        // ` -}}` trims the whitespace after the action; the marker needs a space before it.
        const rightTrim = k >= 2 && this.src[k - 1] === '-' && isSpace(this.src[k - 2]);
        return { index: rightTrim ? k - 2 : k, after: k + 2, rightTrim };
      }
      if (c === '{' && this.src[k + 1] === '{') throw fail(start, 'unexpected "{{" inside action (unclosed action?)');
      k++;
    }
    throw fail(start, 'unclosed action');
  }

  private skipQuoted(k: number, start: Pos): number {
    const q = this.src[k];
    for (let j = k + 1; j < this.src.length; j++) {
      const c = this.src[j];
      if (q !== '`' && c === '\\') {
        j++;
        continue;
      }
      if (q !== '`' && c === '\n') break;
      if (c === q) return j + 1;
    }
    throw fail(start, q === '`' ? 'unterminated raw quoted string' : 'unterminated quoted string');
  }

  private skipSpace(): void {
    while (this.i < this.actionEnd && isSpace(this.src[this.i])) this.i++;
  }

  private parsePipeline(pos: Pos, inParens: boolean): Pipeline {
    const commands: Command[] = [];
    for (;;) {
      this.skipSpace();
      const cmdPos = this.posOf(this.i);
      const operands: Operand[] = [];
      for (;;) {
        this.skipSpace();
        if (this.i >= this.actionEnd) break;
        const c = this.src[this.i]!;
        if (c === '|' || c === ')') break;
        operands.push(this.parseOperand());
        // Operands must be separated by space (Go: `.A.B` is one chain, `"a""b"` an error).
        if (this.i < this.actionEnd && !isSpace(this.src[this.i]) && !'|)('.includes(this.src[this.i]!)) {
          throw fail(this.posOf(this.i), `unexpected ${describe(this.src[this.i]!)} in operand`);
        }
      }
      if (operands.length === 0) throw fail(cmdPos, 'missing value for command');
      commands.push({ operands, pos: cmdPos });
      this.skipSpace();
      if (this.i < this.actionEnd && this.src[this.i] === '|') {
        this.i++;
        continue;
      }
      break;
    }
    if (inParens) {
      if (this.src[this.i] !== ')' || this.i >= this.actionEnd) throw fail(pos, 'unclosed left paren');
      this.i++;
    } else if (this.i < this.actionEnd && this.src[this.i] === ')') {
      throw fail(this.posOf(this.i), 'unexpected right paren');
    }
    return { commands, pos };
  }

  private parseOperand(): Operand {
    const pos = this.posOf(this.i);
    const c = this.src[this.i]!;
    if (c === '(') {
      this.i++;
      return { kind: 'pipe', pipe: this.parsePipeline(pos, true), pos };
    }
    if (c === '"' || c === '`') return { kind: 'string', value: this.parseString(pos), pos };
    if (c === "'") throw fail(pos, 'character constants are not supported; use a "string"');
    if (c === '.') {
      const m = /^\.([A-Za-z_][A-Za-z0-9_]*)?((?:\.[A-Za-z_][A-Za-z0-9_]*)*)/.exec(this.src.slice(this.i, this.actionEnd))!;
      this.i += m[0].length;
      if (!m[1]) {
        throw execFail(pos, '.', 'the bare dot is not supported; name a field such as .SecretPath');
      }
      if (!FIELD_SET.has(m[1])) {
        throw execFail(pos, `.${m[1]}`, `can't evaluate field ${m[1]} (known fields: ${TEMPLATE_FIELDS.join(', ')})`);
      }
      if (m[2]) {
        const next = m[2].slice(1).split('.')[0]!;
        throw execFail(pos, `.${m[1]}${m[2]}`, `can't evaluate field ${next} in type string`);
      }
      return { kind: 'field', name: m[1] as TemplateField, pos };
    }
    if (c === '$') throw fail(pos, 'variables are not supported in secret_name_template');
    if (/[0-9+-]/.test(c)) throw fail(pos, 'numbers are not supported in secret_name_template');
    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.i, this.actionEnd));
    if (ident) {
      this.i += ident[0].length;
      const name = ident[0];
      if (GO_KEYWORDS.has(name)) throw fail(pos, `"${name}" is not supported in secret_name_template`);
      if (!(name in FUNCTIONS)) {
        throw fail(pos, `function "${name}" not defined (available: ${Object.keys(FUNCTIONS).join(', ')})`);
      }
      return { kind: 'func', name, pos };
    }
    throw fail(pos, `unexpected ${describe(c)} in operand`);
  }

  private parseString(pos: Pos): string {
    const q = this.src[this.i]!;
    const startIdx = this.i;
    this.i = this.skipQuoted(this.i, pos);
    const body = this.src.slice(startIdx + 1, this.i - 1);
    if (q === '`') return body.replace(/\r/g, '');
    return unquoteGo(body, pos);
  }
}

/** Interprets Go's escape sequences in an interpreted string literal body. */
function unquoteGo(body: string, pos: Pos): string {
  let out = '';
  for (let k = 0; k < body.length; k++) {
    const c = body[k]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++k];
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"' };
    if (e !== undefined && e in simple) {
      out += simple[e];
      continue;
    }
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLen) {
      const hex = body.slice(k + 1, k + 1 + hexLen);
      if (!new RegExp(`^[0-9A-Fa-f]{${hexLen}}$`).test(hex)) throw fail(pos, 'invalid syntax in quoted string');
      const cp = parseInt(hex, 16);
      if (e === 'x') out += String.fromCharCode(cp); // Go: a byte; names are ASCII in practice
      else {
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw fail(pos, 'invalid syntax in quoted string');
        out += String.fromCodePoint(cp);
      }
      k += hexLen;
      continue;
    }
    if (e !== undefined && /[0-7]/.test(e)) {
      const oct = body.slice(k, k + 3);
      if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) throw fail(pos, 'invalid syntax in quoted string');
      out += String.fromCharCode(parseInt(oct, 8));
      k += 2;
      continue;
    }
    throw fail(pos, 'invalid syntax in quoted string');
  }
  return out;
}

// ---------------------------------------------------------------- checking

function checkPipeline(pipe: Pipeline, referenced: Set<TemplateField>): void {
  pipe.commands.forEach((cmd, stage) => {
    const piped = stage > 0;
    const head = cmd.operands[0]!;
    if (head.kind !== 'func') {
      if (piped) throw fail(cmd.pos, `non executable command in pipeline stage ${stage + 1}`);
      if (cmd.operands.length > 1) {
        throw execFail(head.pos, operandText(head), `can't give argument to non-function ${operandText(head)}`);
      }
    } else {
      const def = FUNCTIONS[head.name]!;
      const got = cmd.operands.length - 1 + (piped ? 1 : 0);
      if (got !== def.arity) {
        throw execFail(head.pos, head.name, `wrong number of args for ${head.name}: want ${def.arity} got ${got}`);
      }
    }
    for (const [idx, op] of cmd.operands.entries()) {
      if (op.kind === 'field') referenced.add(op.name);
      else if (op.kind === 'pipe') checkPipeline(op.pipe, referenced);
      else if (op.kind === 'func' && idx > 0) {
        // A bare function name as an argument is a call with no arguments.
        const def = FUNCTIONS[op.name]!;
        throw execFail(op.pos, op.name, `wrong number of args for ${op.name}: want ${def.arity} got 0`);
      }
    }
  });
}

function operandText(op: Operand): string {
  switch (op.kind) {
    case 'field':
      return `.${op.name}`;
    case 'string':
      return JSON.stringify(op.value);
    case 'func':
      return op.name;
    case 'pipe':
      return '(...)';
  }
}

// ---------------------------------------------------------------- evaluation

function evalPipeline(pipe: Pipeline, ctx: NameTemplateContext): string {
  let value: string | undefined;
  for (const cmd of pipe.commands) {
    const head = cmd.operands[0]!;
    if (head.kind !== 'func') {
      value = evalOperand(head, ctx);
      continue;
    }
    const args = cmd.operands.slice(1).map((op) => evalOperand(op, ctx));
    if (value !== undefined) args.push(value);
    value = FUNCTIONS[head.name]!.fn(...args);
  }
  return value ?? '';
}

function evalOperand(op: Operand, ctx: NameTemplateContext): string {
  switch (op.kind) {
    case 'field': {
      const v = ctx[op.name];
      return v ?? '';
    }
    case 'string':
      return op.value;
    case 'pipe':
      return evalPipeline(op.pipe, ctx);
    case 'func':
      // unreachable: checkPipeline refuses zero-argument calls
      return FUNCTIONS[op.name]!.fn();
  }
}

// ---------------------------------------------------------------- helpers

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

function describe(c: string): string {
  return JSON.stringify(c);
}

/** Go's unicode.ToUpper/ToLower map rune by rune; JS may expand (ß → SS), Go keeps such runes. */
function mapRunes(s: string, f: (c: string) => string): string {
  let out = '';
  for (const c of s) {
    const m = f(c);
    out += [...m].length === 1 ? m : c;
  }
  return out;
}

/** strings.ReplaceAll: an empty `find` inserts `repl` around every rune. */
function goReplaceAll(input: string, find: string, repl: string): string {
  if (find === '') return repl + [...input].join(repl) + (input === '' ? '' : repl);
  return input.split(find).join(repl);
}
