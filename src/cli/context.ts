/** What every command gets: where to write, whether to colour, how to fail. */
import { PLAIN_STYLE, type Style, colorEnabled } from './render/style.js';
import { formatJSON } from './render/json.js';
import { isTerminal, stdoutFailure, whenMade, writeStderr } from './stdio.js';

/** Bad command-line input: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface GlobalOptions {
  color?: boolean;
  debug?: boolean;
}

export class CliContext {
  readonly debug: boolean;
  private readonly colorFlag: boolean | undefined;
  private readonly colors: Style | undefined;
  private chosenStyle: Style | undefined;

  /** `colors`: the colouring style (render/style.ts loadColors), when stdout may show colour. */
  constructor(options: GlobalOptions = {}, colors?: Style) {
    this.debug = options.debug === true;
    this.colorFlag = options.color;
    this.colors = colors;
  }

  /** Colours for stdout, or none; process.stdout is looked at only by a command that asks. */
  get style(): Style {
    this.chosenStyle ??= this.colors && colorEnabled(process.stdout, this.colorFlag) ? this.colors : PLAIN_STYLE;
    return this.chosenStyle;
  }

  get stdoutIsTTY(): boolean {
    return isTerminal(1);
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
    if (isTerminal(2)) writeStderr(`\r\x1b[K${text}`);
  }

  clearStatus(): void {
    if (isTerminal(2)) writeStderr('\r\x1b[K');
  }

  warn(text: string): void {
    writeStderr(`ovsdp: ${text}\n`);
  }
}

let stdoutGuarded = false;

/**
 * `ovsdp dump-flows | head`: the reader went away; stop quietly, as C tools do on SIGPIPE.
 * Any other write error (a full disk: ENOSPC) ends the command with its one line and exit
 * 1. Not rethrown: the error may surface inside the netlink binding's callback, where a
 * throw aborts the whole process.
 *
 * The guard goes on process.stdout when that is made, not now: a command may never write
 * through it (dump-flows to a file uses write(2)), and making it costs (stdio.ts).
 */
export function endQuietlyOnClosedStdout(): void {
  if (stdoutGuarded) return;
  stdoutGuarded = true;
  whenMade('stdout', (stream) => stream.on('error', (err: NodeJS.ErrnoException) => process.exit(stdoutFailure(err))));
}

