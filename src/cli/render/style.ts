/** Colour only for a person at a terminal: never with NO_COLOR, --no-color, or when piped. */
import { Chalk, type ChalkInstance } from 'chalk';

export function colorEnabled(stream: NodeJS.WriteStream, flag: boolean | undefined): boolean {
  if (flag === false) return false;
  if (process.env['NO_COLOR'] !== undefined && process.env['NO_COLOR'] !== '') return false;
  if (process.env['FORCE_COLOR'] !== undefined && process.env['FORCE_COLOR'] !== '0') return true;
  return stream.isTTY === true && process.env['TERM'] !== 'dumb';
}

export function makeStyle(enabled: boolean): ChalkInstance {
  return new Chalk({ level: enabled ? 1 : 0 });
}
