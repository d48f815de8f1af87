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
    // Where first, as a flow file's "line N, column M: ..." and compilers put it.
    super(`column ${position + 1}: ${detail}`);
    this.input = input;
    this.position = position;
    this.detail = detail;
  }

  /** The input and a caret under the offending column, for a terminal. */
  caret(): string {
    // Control characters (a CR or LF in a quoted argument, bytes of a binary file) shown
    // as their Unicode pictures: one column each, so the caret stays under its spot.
    const shown = this.input.replace(/[\x00-\x1f\x7f]/g, (c) => String.fromCharCode(c === '\x7f' ? 0x2421 : 0x2400 + c.charCodeAt(0)));
    return `${shown}\n${' '.repeat(this.position)}^`;
  }

  /** One line for the CLI, with the input and caret on the following two lines. */
  describe(): string {
    return `${this.message}\n${this.caret()}`;
  }
}

/** Whether a character code is white space as /\s/ has it (ASCII answered without a regex). */
export function isSpaceCode(c: number): boolean {
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return /\s/.test(String.fromCharCode(c));
}

/** Whether a character code may start a name: A-Z, a-z, _. */
export function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

/** Whether a character code is a word character (\w): A-Z, a-z, 0-9, _. */
export function isWordCode(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
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
    while (this.pos < this.input.length && isSpaceCode(this.input.charCodeAt(this.pos))) this.pos++;
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

  /** ', found "…"' for an error message: the word (or character) here, without moving. */
  found(): string {
    if (this.pos >= this.input.length) return ', found the end of the input';
    // [^] and not ".": a line break (a CR or LF inside a quoted argument) is named too.
    const m = /^[^(),=/\s{}]+|^[^]/.exec(this.input.slice(this.pos))!;
    return `, found ${JSON.stringify(m[0])}`;
  }

  private foundText(): string {
    this.skipSpace();
    return this.found();
  }
}

/** Parses an unsigned integer in C syntax (decimal, 0x hex, 0 octal as strtoul does). */
export function parseUnsigned(text: string): bigint | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return BigInt(text);
  if (/^0[0-7]+$/.test(text)) return BigInt(`0o${text.slice(1)}`);
  if (/^[0-9]+$/.test(text)) return BigInt(text);
  return undefined;
}

/**
 * The candidates a mistyped word was probably meant to be, closest first: those within
 * two edits (insert, delete, replace, swap of neighbours) or that start with the word.
 * For "did you mean" in error messages.
 */
export function closeMatches(word: string, candidates: Iterable<string>, max = 3): string[] {
  const scored: Array<[number, string]> = [];
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d <= 2 || (word.length >= 2 && c.startsWith(word))) scored.push([d, c]);
  }
  scored.sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]));
  return scored.slice(0, max).map(([, c]) => c);
}

/** Optimal string alignment distance between two short words. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
