/** What every command gets: where to write, whether to colour, how to fail. */
import type { ChalkInstance } from 'chalk';
import { colorEnabled, makeStyle } from './render/style.js';
import { formatJSON } from './render/json.js';

/** Bad command-line input: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface GlobalOptions {
  color?: boolean;
  debug?: boolean;
}

export class CliContext {
  readonly style: ChalkInstance;
  readonly debug: boolean;
  readonly stdoutIsTTY: boolean;

  constructor(options: GlobalOptions = {}) {
    this.style = makeStyle(colorEnabled(process.stdout, options.color));
    this.debug = options.debug === true;
    this.stdoutIsTTY = process.stdout.isTTY === true;
  }

  /** Writes text to stdout (a newline is added when missing). */
  print(text: string): void {
    process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  }

  printJSON(value: unknown): void {
    this.print(formatJSON(value));
  }

  /** A progress or status line on stderr, only for a person at a terminal. */
  status(text: string): void {
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
  }

  clearStatus(): void {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  }

  warn(text: string): void {
    process.stderr.write(`ovsdp: ${text}\n`);
  }
}
