/**
 * Colour only for a person at a terminal: never with NO_COLOR, --no-color, or when piped.
 * chalk is loaded only when colour may be shown: most runs (scripts, files, pipes) start
 * up without it.
 */
import { isTerminal } from '../stdio.js';

/** The colours the CLI uses; each returns its text as it is when colour is off. */
export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

const plain = (text: string): string => text;

export const PLAIN_STYLE: Style = { bold: plain, dim: plain, red: plain, green: plain, yellow: plain, cyan: plain };

export function colorEnabled(stream: NodeJS.WriteStream, flag: boolean | undefined): boolean {
  if (flag === false) return false;
  if (process.env['NO_COLOR'] !== undefined && process.env['NO_COLOR'] !== '') return false;
  if (process.env['FORCE_COLOR'] !== undefined && process.env['FORCE_COLOR'] !== '0') return true;
  return stream.isTTY === true && process.env['TERM'] !== 'dumb';
}

/**
 * Whether stdout may show colour (colorEnabled without --no-color), answered without
 * setting up process.stdout when it is no terminal (context.ts isTerminal).
 */
export function stdoutMayColor(): boolean {
  if (process.env['FORCE_COLOR'] !== undefined && process.env['FORCE_COLOR'] !== '0') return true;
  return isTerminal(1) && colorEnabled(process.stdout, undefined);
}

/** The colouring style, with chalk behind it. */
export async function loadColors(): Promise<Style> {
  const { Chalk } = await import('chalk');
  return new Chalk({ level: 1 });
}
