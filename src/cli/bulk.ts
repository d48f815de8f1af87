/**
 * add-flows, mod-flows and del-flows FILE: flows from a file or stdin ("-"), one per line
 * as ovs-dpctl reads them (lib/dpctl.c dpctl_process_flows), installed many per sendmsg
 * with several batches in flight. The input streams: a long file is never all in memory.
 *
 * A line is `[add|modify|delete] FLOW [ACTIONS]`: '#' starts a comment, blank lines are
 * skipped, the command word may be any prefix of add/delete/modify (ovs-dpctl compares
 * with strncmp) and defaults to the command's own; FLOW has no spaces and ACTIONS is the
 * rest of the line. Unlike ovs-dpctl, each failing line is reported with why, the others
 * are still applied, and a summary follows; the exit code is 1 when any line failed.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { StringDecoder } from 'node:string_decoder';
import type { FlowActions, FlowOp } from '../client/flows.js';
import type { CliContext } from './context.js';
import { UsageError } from './context.js';
import { errorLine } from './dp-args.js';
import { type FlowCommandTarget, portMaps } from './flow-args.js';
import { Progress } from './render/progress.js';
import { FlowParseError } from '../ovs/flowstr/scanner.js';

export type LineCommand = 'add' | 'modify' | 'delete';

/** A line split into its parts, with where they start (for error columns). */
export interface FlowLine {
  lineNo: number;
  command: LineCommand;
  flow: string;
  flowColumn: number;
  actions: string | undefined;
  actionsColumn: number;
}

/** A line that cannot be applied, with the column it went wrong at when known. */
export class LineError extends Error {
  override readonly name = 'LineError';
  readonly column: number | undefined;
  constructor(message: string, column?: number) {
    super(message);
    this.column = column;
  }
}

/** Where the run of `re`'s characters (a sticky regex) that starts at `i` ends. */
function skip(text: string, i: number, re: RegExp): number {
  re.lastIndex = i;
  return re.test(text) ? re.lastIndex : i;
}

/** The first index at or after `i` of a character `re` (global) matches, or the end. */
function until(text: string, i: number, re: RegExp): number {
  re.lastIndex = i;
  const m = re.exec(text);
  return m ? m.index : text.length;
}

const SPACES = /[ \t\r\n]+/y;
const SPACE = /[ \t\r\n]/g;
const SPACE_OR_COMMA = /[, \t\r\n]/g;
/** Blank (ovs-dpctl does not count \r as blank; a CRLF file's empty lines are blank here). */
const BLANK = /^[ \t\r\n]*$/;

/**
 * One line, as dpctl_parse_flow_line() splits it; undefined for a blank or comment line.
 * Throws LineError for a line ovs-dpctl would skip as unparsable.
 */
export function splitFlowLine(raw: string, lineNo: number, defaultCommand: LineCommand): FlowLine | undefined {
  const hash = raw.indexOf('#');
  const text = hash < 0 ? raw : raw.slice(0, hash);
  if (BLANK.test(text)) return undefined;
  let i = skip(text, 0, SPACES);
  const wordEnd = until(text, i, SPACE_OR_COMMA);
  const word = text.slice(i, wordEnd);
  let command = defaultCommand;
  // strncmp(line, "add", len) == 0: the word is a prefix of the command (even empty).
  const named = (['add', 'delete', 'modify'] as const).find((c) => c.startsWith(word));
  if (named) {
    command = named;
    i = wordEnd;
  }
  i = skip(text, i, SPACES);
  const flowEnd = until(text, i, SPACE);
  if (flowEnd === i) throw new LineError(`expected "[add|modify|delete] FLOW${defaultCommand === 'delete' ? '' : ' ACTIONS'}"`);
  const flow = text.slice(i, flowEnd);
  const actionsStart = skip(text, flowEnd, SPACES);
  const actions = actionsStart < text.length ? text.slice(actionsStart).trimEnd() : undefined;
  if (command === 'delete' && actions !== undefined) throw new LineError('a delete line takes a flow and no actions', actionsStart + 1);
  if (command !== 'delete' && actions === undefined) throw new LineError(`an ${command} line needs actions after the flow (e.g. drop)`, flowEnd + 1);
  return { lineNo, command, flow, flowColumn: i + 1, actions, actionsColumn: actionsStart + 1 };
}

/** A file's lines with their numbers, read in large blocks: no wait per line, and one block in memory. */
function* fileLines(path: string, onBytes: (n: number) => void): Generator<{ lineNo: number; text: string }> {
  const fd = openSync(path, 'r');
  const block = Buffer.allocUnsafe(1 << 20);
  const decoder = new StringDecoder('utf8');
  let partial = '';
  let lineNo = 0;
  try {
    for (;;) {
      const n = readSync(fd, block, 0, block.length, null);
      onBytes(n);
      if (n === 0) {
        // The last line may lack its newline.
        const last = partial + decoder.end();
        if (last !== '') yield { lineNo: ++lineNo, text: last };
        return;
      }
      const lines = (partial + decoder.write(block.subarray(0, n))).split('\n');
      partial = lines.pop()!;
      for (const text of lines) yield { lineNo: ++lineNo, text };
    }
  } finally {
    closeSync(fd);
  }
}

/** Standard input's lines with their numbers, as they arrive. */
async function* stdinLines(onBytes: (n: number) => void): AsyncGenerator<{ lineNo: number; text: string }> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let lineNo = 0;
  for await (const text of lines) {
    onBytes(Buffer.byteLength(text) + 1);
    yield { lineNo: ++lineNo, text };
  }
}

/** A non-blank line: split, or why it cannot be. */
type Item = { lineNo: number; line: FlowLine; error?: undefined } | { lineNo: number; line?: undefined; error: Error };

/** Distinct actions texts remembered at once (the memory a long file may take). */
const ACTIONS_CACHE_SIZE = 4096;

const VERBS: Record<LineCommand, string> = { add: 'added', modify: 'modified', delete: 'deleted' };

/** Runs a flow file against the target's datapath; reports failures and a summary on stderr. */
export async function runFlowFile(ctx: CliContext, target: FlowCommandTarget, file: string, defaultCommand: LineCommand, commandName: string): Promise<void> {
  let totalBytes: number | undefined;
  if (file !== '-') {
    try {
      totalBytes = statSync(file).size;
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
    }
  }
  const { parseActionsText, parseFlowMatch } = await import('../client/flow-text.js');
  const ports = await portMaps(target.conn, target.datapath);
  const textOptions = { portNumbers: ports.numbers };

  const actionsByText = new Map<string, FlowActions>();
  const toOp = (item: Item): FlowOp => {
    if (item.error) throw item.error;
    const { line } = item;
    const at = (column: number) => (err: unknown): never => {
      if (err instanceof FlowParseError) throw new LineError(err.detail, column + err.position);
      throw err;
    };
    let match;
    try {
      match = parseFlowMatch(line.flow, textOptions);
    } catch (err) {
      return at(line.flowColumn)(err);
    }
    if (line.command === 'delete') return { kind: 'del', target: match.ufid ? { ufid: match.ufid, key: match.key! } : { key: match.key! } };
    // Lines mostly repeat their actions: each text is parsed once, and the one list it
    // gives lets the flow table encode it once.
    let actions = actionsByText.get(line.actions!);
    if (!actions) {
      try {
        actions = parseActionsText(line.actions!, textOptions);
      } catch (err) {
        return at(line.actionsColumn)(err);
      }
      if (actionsByText.size >= ACTIONS_CACHE_SIZE) actionsByText.clear();
      actionsByText.set(line.actions!, actions);
    }
    const flow = { key: match.key ?? {}, mask: match.mask, actions, ...(match.ufid ? { ufid: match.ufid } : {}) };
    return { kind: 'put', flow, mode: line.command === 'add' ? 'create' : 'modify' };
  };

  const counts: Record<LineCommand, number> = { add: 0, modify: 0, delete: 0 };
  let failed = 0;
  let bytes = 0;
  const progress = new Progress(ctx);
  const item = (lineNo: number, text: string): Item | undefined => {
    try {
      const line = splitFlowLine(text, lineNo, defaultCommand);
      return line && { lineNo, line };
    } catch (err) {
      return { lineNo, error: err as Error };
    }
  };
  const countBytes = (n: number): void => { bytes += n; };
  function* fileItems(): Generator<Item> {
    for (const { lineNo, text } of fileLines(file, countBytes)) {
      const it = item(lineNo, text);
      if (it) yield it;
    }
  }
  async function* stdinItems(): AsyncGenerator<Item> {
    for await (const { lineNo, text } of stdinLines(countBytes)) {
      const it = item(lineNo, text);
      if (it) yield it;
    }
  }

  for await (const results of target.table.operateBatches(file === '-' ? stdinItems() : fileItems(), toOp)) {
    for (const result of results) {
      const { lineNo, line } = result.item;
      if (result.error) {
        failed++;
        progress.clear();
        const column = result.error instanceof LineError && result.error.column !== undefined ? `, column ${result.error.column}` : '';
        ctx.warn(`line ${lineNo}${column}: ${errorLine(result.error)}`);
      } else if (line) counts[line.command]++;
    }
    const done = counts.add + counts.modify + counts.delete;
    progress.update(totalBytes === undefined ? { done, failed } : { done, failed, bytes, totalBytes });
  }
  progress.clear();
  const parts = (Object.keys(counts) as LineCommand[]).filter((c) => counts[c] > 0).map((c) => `${counts[c]} ${VERBS[c]}`);
  process.stderr.write(`${commandName}: ${parts.length ? parts.join(', ') : 'nothing applied'}, ${failed} failed\n`);
  if (failed) process.exitCode = 1;
}
