/**
 * The cursor the flow-string parsers (keys, masks, actions) read with. It knows the
 * datapath flow syntax's punctuation — `name(…)`, `field=value`, `value/mask`, commas —
 * and turns every mistake into a FlowParseError that points at the spot.
 */

/** A flow string that does not parse: what was expected, and where. */
export class FlowParseError extends Error {
  override readonly name = 'FlowParseError';
  readonly input: string;
  /** 0-based offset into `input` of the offending spot. */
  readonly position: number;
  readonly detail: string;

  constructor(input: string, position: number, detail: string) {
    super(`${detail} at column ${position + 1}`);
    this.input = input;
    this.position = position;
    this.detail = detail;
  }

  /** The input and a caret under the offending column, for a terminal. */
  caret(): string {
    return `${this.input}\n${' '.repeat(this.position)}^`;
  }

  /** One line for the CLI, with the input and caret on the following two lines. */
  describe(): string {
    return `${this.message}\n${this.caret()}`;
  }
}

/** Characters that end a bare token: the syntax's punctuation and white space. */
const TOKEN_END = new Set(['(', ')', ',', '=', '/', ' ', '\t', '\n']);

export class Scanner {
  readonly input: string;
  pos: number;

  constructor(input: string, pos = 0) {
    this.input = input;
    this.pos = pos;
  }

  get done(): boolean {
    this.skipSpace();
    return this.pos >= this.input.length;
  }

  skipSpace(): void {
    while (this.pos < this.input.length && /\s/.test(this.input[this.pos]!)) this.pos++;
  }

  /** The next character after white space, without consuming it ('' at the end). */
  peek(): string {
    this.skipSpace();
    return this.input[this.pos] ?? '';
  }

  /** Whether the input continues with `text` (after white space). */
  lookingAt(text: string): boolean {
    this.skipSpace();
    return this.input.startsWith(text, this.pos);
  }

  /** Consumes `text` if the input continues with it. */
  eat(text: string): boolean {
    if (!this.lookingAt(text)) return false;
    this.pos += text.length;
    return true;
  }

  /** Consumes `text` or fails saying it was expected. */
  expect(text: string, what = `"${text}"`): void {
    if (!this.eat(text)) throw this.error(`expected ${what}${this.foundText()}`);
  }

  /**
   * A bare token: everything up to the next punctuation. `allowSlash` keeps a '/' inside
   * it and `allowEquals` an '='; ':' and '.' never end a token (MACs, IPv6, ranges).
   */
  token(what = 'a value', options: { allowSlash?: boolean; allowEquals?: boolean } = {}): string {
    this.skipSpace();
    const start = this.pos;
    while (this.pos < this.input.length) {
      const c = this.input[this.pos]!;
      if ((c === '/' && options.allowSlash) || (c === '=' && options.allowEquals)) this.pos++;
      else if (TOKEN_END.has(c)) break;
      else this.pos++;
    }
    if (this.pos === start) throw this.error(`expected ${what}${this.foundText()}`);
    return this.input.slice(start, this.pos);
  }

  /** A name such as `ipv4`, `ct_state` or `set_masked`. */
  name(what = 'a name'): string {
    this.skipSpace();
    const m = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(this.input.slice(this.pos));
    if (!m) throw this.error(`expected ${what}${this.foundText()}`);
    this.pos += m[0].length;
    return m[0];
  }

  /**
   * The raw text inside balanced parentheses, the scanner left after the ')'.
   * Call with the scanner on the '('.
   */
  parenthesized(): { text: string; start: number } {
    this.expect('(');
    const start = this.pos;
    let depth = 1;
    while (this.pos < this.input.length) {
      const c = this.input[this.pos]!;
      if (c === '(') depth++;
      else if (c === ')' && --depth === 0) {
        const text = this.input.slice(start, this.pos);
        this.pos++;
        return { text, start };
      }
      this.pos++;
    }
    throw new FlowParseError(this.input, start - 1, 'unbalanced "(": no matching ")"');
  }

  /** A FlowParseError at the current position (or `at`). */
  error(detail: string, at = this.pos): FlowParseError {
    return new FlowParseError(this.input, at, detail);
  }

  private foundText(): string {
    this.skipSpace();
    if (this.pos >= this.input.length) return ', found the end of the input';
    const rest = this.input.slice(this.pos);
    const m = /^[^(),=/\s]+|^./.exec(rest)!;
    return `, found "${m[0]}"`;
  }
}

/** Parses an unsigned integer in C syntax (decimal, 0x hex, 0 octal as strtoul does). */
export function parseUnsigned(text: string): bigint | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return BigInt(text);
  if (/^0[0-7]+$/.test(text)) return BigInt(`0o${text.slice(1)}`);
  if (/^[0-9]+$/.test(text)) return BigInt(text);
  return undefined;
}
