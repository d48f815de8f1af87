/**
 * add-flows, mod-flows and del-flows FILE: flows from a file or stdin ("-"), one per line
 * as ovs-dpctl reads them (lib/dpctl.c dpctl_process_flows), installed many per sendmsg
 * a batch at a time. The input streams: a long file is never all in memory.
 *
 * A line is `[add|modify|delete] FLOW [ACTIONS]`: '#' starts a comment, blank lines are
 * skipped, the command word may be any prefix of add/delete/modify (ovs-dpctl compares
 * with strncmp) and defaults to the command's own; FLOW has no spaces and ACTIONS is the
 * rest of the line. Unlike ovs-dpctl, each failing line is reported with why, the others
 * are still applied, and a summary follows; the exit code is 1 when any line failed.
 */
import { fs } from '../nl/node-builtins.js';
import { isAscii } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';
import { parseActionsText, parseFlowMatch } from '../client/flow-text.js';
import { LineShape } from '../client/flow-shapes.js';
import type { MessageBuilder } from '../nl/codec.js';
import type { BulkResult, FlowActions, FlowOp, FlowSpec, PutMode, WrittenOp } from '../client/flows.js';
import type { GenlRequest } from '../nl/message.js';
import type { CliContext } from './context.js';
import { UsageError } from './context.js';
import { errorLine } from './dp-args.js';
import { type FlowCommandTarget, PortNameProbe, portMaps } from './flow-args.js';
import { Progress } from './render/progress.js';
import { writeStderr } from './stdio.js';
import { KeyAttrMemo, type MemoAttr, parseKeyEntries } from '../ovs/flowstr/keys.js';
import { FlowParseError } from '../ovs/flowstr/scanner.js';
import { lineSlots } from '../ovs/flowstr/slots.js';

export type LineCommand = 'add' | 'modify' | 'delete';

/** A line split into its parts, with where they start (for error columns). */
export interface FlowLine {
  lineNo: number;
  /** The line as read (what a line shape is made from). */
  line: string;
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

// A file may have hundreds of thousands of lines: they are split with character codes.

/** Space, tab, CR or LF: what separates a line's parts (ovs-dpctl's isspace, less \v and \f). */
function isBlankCode(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

/** The end of the run of blanks that starts at `i`. */
function skipBlanks(text: string, i: number): number {
  while (i < text.length && isBlankCode(text.charCodeAt(i))) i++;
  return i;
}

/** The first index at or after `i` of a blank or a ',' (the end of a short word), or the end. */
function untilBlankOrComma(text: string, i: number): number {
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isBlankCode(c) || c === 44) break;
  }
  return i;
}

const BLANKS = [' ', '\t', '\r', '\n'];

/** The first index at or after `i` of a blank, or the end (indexOf: a flow is long). */
function untilBlank(text: string, i: number): number {
  let end = text.length;
  for (const blank of BLANKS) {
    const j = text.indexOf(blank, i);
    if (j >= 0 && j < end) end = j;
  }
  return end;
}

const LINE_COMMANDS: readonly LineCommand[] = ['add', 'delete', 'modify'];
const LONGEST_COMMAND = Math.max(...LINE_COMMANDS.map((c) => c.length));

/**
 * One line, as dpctl_parse_flow_line() splits it; undefined for a blank or comment line.
 * Throws LineError for a line ovs-dpctl would skip as unparsable.
 */
export function splitFlowLine(raw: string, lineNo: number, defaultCommand: LineCommand): FlowLine | undefined {
  const hash = raw.indexOf('#');
  const text = hash < 0 ? raw : raw.slice(0, hash);
  // Blank (ovs-dpctl does not count \r as blank; a CRLF file's empty lines are blank here).
  // A byte order mark some editors put first in a UTF-8 file is skipped with the blanks.
  let i = skipBlanks(text, lineNo === 1 && text.charCodeAt(0) === 0xfeff ? 1 : 0);
  if (i === text.length) return undefined;
  const wordEnd = untilBlankOrComma(text, i);
  let command = defaultCommand;
  // strncmp(line, "add", len) == 0: the word is a prefix of the command (even empty).
  // A word longer than every command (a line's first key attribute, mostly) is none.
  if (wordEnd - i <= LONGEST_COMMAND) {
    const word = text.slice(i, wordEnd);
    for (const c of LINE_COMMANDS) {
      if (c.startsWith(word)) {
        command = c;
        i = wordEnd;
        break;
      }
    }
  }
  i = skipBlanks(text, i);
  const flowEnd = untilBlank(text, i);
  if (flowEnd === i) throw new LineError(`expected "[add|modify|delete] FLOW${defaultCommand === 'delete' ? '' : ' ACTIONS'}"`);
  const flow = text.slice(i, flowEnd);
  const actionsStart = skipBlanks(text, flowEnd);
  const actions = actionsStart < text.length ? text.slice(actionsStart).trimEnd() : undefined;
  // A dump-flows line: its key ends with "," and its statistics come before "actions:".
  if (actions !== undefined && /^packets:\d+,/.test(actions)) {
    throw new LineError(`this is a dump-flows line: write "KEY ACTIONS" (the key without its last ",", a space, then what follows "actions:")`, actionsStart + 1);
  }
  if (command === 'delete' && actions !== undefined) throw new LineError('a delete line takes a flow and no actions', actionsStart + 1);
  if (command !== 'delete' && actions === undefined) throw new LineError(`an ${command} line needs actions after the flow (e.g. drop)`, flowEnd + 1);
  return { lineNo, line: raw, command, flow, flowColumn: i + 1, actions, actionsColumn: actionsStart + 1 };
}

/**
 * A file's lines, read in large blocks: no wait per line, and one block in memory. Each
 * step gives a block's lines (a generator step per line costs more than the line's split).
 */
export function* fileLineBlocks(path: string, onBytes: (n: number) => void): Generator<string[]> {
  const fd = fs.openSync(path, 'r');
  const block = Buffer.allocUnsafe(1 << 20);
  const decoder = new StringDecoder('utf8');
  let partial = '';
  /** Whether the last block ended with a whole character (the decoder holds none of its bytes). */
  let whole = true;
  try {
    for (;;) {
      const n = fs.readSync(fd, block, 0, block.length, null);
      onBytes(n);
      if (n === 0) {
        // The last line may lack its newline.
        const last = partial + decoder.end();
        if (last !== '') yield [last];
        return;
      }
      const bytes = block.subarray(0, n);
      // A block of ASCII alone (a generated file's, mostly) read as latin1 is the same
      // text, copied: the UTF-8 decoder took ~10 ns a byte in the test VM.
      const text = whole && isAscii(bytes) ? bytes.toString('latin1') : decoder.write(bytes);
      whole = bytes[n - 1]! < 0x80;
      // The line cut by the last block's end joined after the split: partial + text, a
      // cons string of the whole block, was flattened by split (a copy of the block).
      const lines = text.split('\n');
      lines[0] = partial + lines[0]!;
      partial = lines.pop()!;
      yield lines;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Standard input's lines, as they arrive. */
async function* stdinLines(onBytes: (n: number) => void): AsyncGenerator<string> {
  // Loaded only for stdin: start-up reads no more modules than the file case needs.
  const { createInterface } = await import('node:readline');
  for await (const text of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    onBytes(Buffer.byteLength(text) + 1);
    yield text;
  }
}

/** A non-blank line that cannot be split, and why. */
interface LineFailure {
  lineNo: number;
  command?: undefined;
  error: Error;
}

/**
 * Lines of a known shape one after another, the first line `lineNo`: the item is its own
 * operation, one for the run, and its shape lays out their requests from their values
 * (read once, when the lines were matched). An object literal (LineShapes.run), not an
 * instance of a class: in a short process V8 compiled a constructor called once per run
 * on its own (7-15 ms of TurboFan in the test VM per add-flows of 20,000 lines).
 */
interface ShapedRun extends WrittenOp {
  readonly kind: 'written';
  readonly command: LineCommand;
  readonly lineNo: number;
  readonly shape: LineShape;
  readonly values: Float64Array;
}

/** Every ShapedRun's appendTo. */
function appendRun(this: ShapedRun, out: MessageBuilder, seq: number): number {
  return this.shape.appendLines(this.values, this.count, out, seq);
}

/**
 * A non-blank line or run of lines: of a known shape, split (the line itself is the item:
 * one object less per line), or why it cannot be either.
 */
type Item = ShapedRun | FlowLine | LineFailure;

/** A line shape with what its lines do. */
interface KeptShape {
  shape: LineShape;
  command: LineCommand;
  mode: PutMode | undefined;
  /** Where matchLines reads a run's values (LINES_PER_RUN lines' room). */
  values: Float64Array;
}

/** Line shapes kept at once (files that alternate between a few kinds of line). */
const SHAPES_KEPT = 4;
/**
 * Lines of a shape taken as one item at most: a run is not split between batches, and
 * takes its batch past FlowTable's batch size by up to this less one.
 */
const LINES_PER_RUN = 16;
/**
 * Past the first SHAPES_KEPT shapes made, another is made only for every this many
 * lines the shapes took: making one costs a line's way twice (the probe), which a file
 * of lines unlike each other would pay for nothing.
 */
const LINES_PER_SHAPE = 2;

/**
 * The line shapes of a run (src/client/flow-shapes.ts): lines that are a known line but
 * for some addresses and ports take its request message with their values written in.
 */
class LineShapes {
  private readonly kept: KeptShape[] = [];
  private made = 0;
  private taken = 0;
  /** How many shapes have been kept: a line that had none of them has none as long as this stays. */
  learnt = 0;

  /**
   * lines[start] (line `lineNo`) and the lines after it, up to lines[end - 1] and
   * LINES_PER_RUN in all, that have its known shape, as a run; undefined when it has none.
   */
  run(lines: readonly string[], start: number, end: number, lineNo: number): ShapedRun | undefined {
    const kept = this.kept;
    const last = Math.min(end, start + LINES_PER_RUN);
    for (let k = 0; k < kept.length; k++) {
      const s = kept[k]!;
      const n = s.shape.matchLines(lines, start, last, s.values);
      if (n) {
        this.taken += n;
        return {
          kind: 'written', mode: s.mode, command: s.command, lineNo, count: n, shape: s.shape,
          values: s.values.slice(0, n * s.shape.slotCount), appendTo: appendRun,
        };
      }
    }
    return undefined;
  }

  /** Whether a line that went the whole way should be made a shape. */
  wanted(): boolean {
    return this.made < SHAPES_KEPT || this.taken >= LINES_PER_SHAPE * this.made;
  }

  /**
   * Makes `line`'s shape from its request `req`, when its key attributes `keyAttrs` have
   * their slots where the key's schema says (LineShape.of) and the shape, patched with
   * other values in every slot (its probe), gives the request the whole way (`wholeWay`)
   * gives the probe line.
   */
  learn(line: FlowLine, keyAttrs: readonly MemoAttr[], mode: PutMode | undefined, req: GenlRequest, wholeWay: (text: string) => GenlRequest | undefined): void {
    this.made++;
    const slots = lineSlots(line.line, line.flowColumn - 1, keyAttrs);
    const shape = slots && LineShape.of(line.line, slots, req);
    if (!shape) return;
    const want = wholeWay(shape.probe());
    if (!want || !shape.proves(want)) return;
    this.kept.unshift({ shape, command: line.command, mode, values: new Float64Array(LINES_PER_RUN * shape.slotCount) });
    this.learnt++;
    if (this.kept.length > SHAPES_KEPT) this.kept.pop();
  }
}

/** Lines split ahead of their parsing (one step of the item generator). */
const ITEMS_PER_STEP = 64;

/** Distinct actions texts remembered at once (the memory a long file may take). */
const ACTIONS_CACHE_SIZE = 4096;

const VERBS: Record<LineCommand, string> = { add: 'added', modify: 'modified', delete: 'deleted' };

/**
 * What toOp throws for a line that looked a port name up before the ports were listed,
 * and for the items after it: they are taken again once the ports are (never reported).
 */
const PORTS_WANTED = new Error('waits for the datapath\'s ports');

/** A parse error of the part of a line that starts at `column`, as a LineError with the line's column. */
function atColumn(err: unknown, column: number): unknown {
  return err instanceof FlowParseError ? new LineError(err.detail, column + err.position) : err;
}

/** Runs a flow file against the target's datapath; reports failures and a summary on stderr. */
export async function runFlowFile(ctx: CliContext, target: FlowCommandTarget, file: string, defaultCommand: LineCommand, commandName: string): Promise<void> {
  let totalBytes: number | undefined;
  if (file !== '-') {
    try {
      const stat = fs.statSync(file);
      totalBytes = stat.size;
      if (stat.isDirectory()) throw new UsageError(`cannot read ${file}: it is a directory`);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
      throw new UsageError(`cannot read ${file}: ${why}`);
    }
  }
  /**
   * The datapath's ports by name: a probe until a line looks a name up (most files name
   * ports by number). That line and every item after it then wait: the run stops after
   * the items it has taken (portsWanted), the ports are listed, and a second run takes
   * them again with the names, as if the ports had been listed from the start.
   */
  const probe = new PortNameProbe();
  // Lines mostly repeat key attributes (in_port, eth, ...): each repeat is parsed once.
  const memo = new KeyAttrMemo();
  const textOptions: { portNumbers: ReadonlyMap<string, number>; memo: KeyAttrMemo } = { portNumbers: probe, memo };
  const portsWanted = (): boolean => probe.asked && textOptions.portNumbers === probe;

  const actionsByText = new Map<string, FlowActions>();
  let lastActionsText: string | undefined;
  let lastActions: FlowActions | undefined;
  const shapes = new LineShapes();
  const requests = await target.table.bulkRequests();
  /**
   * The whole way for a line that has no known shape; a line of key attributes alone is
   * laid out here and may become a shape.
   */
  const toOp = (item: Item): FlowOp => {
    if (portsWanted()) throw PORTS_WANTED;
    if (item.command === undefined) throw item.error;
    if ('kind' in item) return item;
    // Split before a shape that its block's earlier lines made: it may have it (not if no
    // shape was made since: it had none of those it was tried with).
    if (shapes.learnt !== learntAtCollect) {
      const shaped = shapes.run([item.line], 0, 1, item.lineNo);
      if (shaped) return shaped;
    }
    let op: FlowOp;
    try {
      op = lineOp(item);
    } catch (err) {
      throw portsWanted() ? PORTS_WANTED : err;
    }
    // Also when the line parsed: an action word (pop_vlan) is a port's name first.
    if (portsWanted()) throw PORTS_WANTED;
    if ((op.kind !== 'putAttrs' && op.kind !== 'delAttrs') || !shapes.wanted()) return op;
    const mode = op.kind === 'putAttrs' ? op.mode : undefined;
    const req = requests.request(op);
    shapes.learn(item, op.keyAttrs, mode, req, probeRequest);
    return { kind: 'encoded', fixedHeader: req.fixedHeader!, mode };
  };
  /** A probe line's request the whole way (LineShapes.learn); undefined when it fails. */
  const probeRequest = (text: string): GenlRequest | undefined => {
    try {
      const line = splitFlowLine(text, 0, defaultCommand);
      const op = line && lineOp(line);
      return op && (op.kind === 'putAttrs' || op.kind === 'delAttrs') ? requests.request(op) : undefined;
    } catch {
      return undefined;
    }
  };
  /** A split line's operation: its flow and actions parsed. */
  const lineOp = (line: FlowLine): FlowOp => {
    // A FLOW of key attributes alone (nearly every line) goes as the memo's entries,
    // no key and mask objects built; anything else is parsed whole (which says what is
    // wrong with it, if anything).
    let keyAttrs: MemoAttr[] | undefined;
    let match: ReturnType<typeof parseFlowMatch> | undefined;
    if (parseKeyEntries(line.flow, memo, textOptions.portNumbers)) {
      keyAttrs = memo.list.slice(0, memo.listLength);
      if (line.command === 'delete') return { kind: 'delAttrs', keyAttrs };
    } else {
      try {
        match = parseFlowMatch(line.flow, textOptions);
      } catch (err) {
        throw atColumn(err, line.flowColumn);
      }
      if (line.command === 'delete') return { kind: 'del', target: match.ufid ? { ufid: match.ufid, key: match.key } : { key: match.key } };
    }
    // Lines mostly repeat their actions: each text is parsed once, and the one list it
    // gives lets the flow table encode it once. Runs of equal actions are the common case:
    // comparing with the previous line's is cheaper than hashing the text.
    const text = line.actions!;
    let actions = text === lastActionsText ? lastActions : actionsByText.get(text);
    if (!actions) {
      try {
        actions = parseActionsText(text, textOptions);
      } catch (err) {
        throw atColumn(err, line.actionsColumn);
      }
      if (actionsByText.size >= ACTIONS_CACHE_SIZE) actionsByText.clear();
      actionsByText.set(text, actions);
    }
    lastActionsText = text;
    lastActions = actions;
    const mode = line.command === 'add' ? 'create' : 'modify';
    if (keyAttrs) return { kind: 'putAttrs', keyAttrs, actions, mode };
    const flow: FlowSpec = { key: match!.key, mask: match!.mask, actions };
    if (match!.ufid) flow.ufid = match!.ufid;
    return { kind: 'put', flow, mode };
  };

  /**
   * shapes.learnt when the items toOp is given were made: the items of a block are all made
   * before toOp takes any of them, and shapes are made only there.
   */
  let learntAtCollect = 0;
  const counts: Record<LineCommand, number> = { add: 0, modify: 0, delete: 0 };
  let failed = 0;
  let bytes = 0;
  const progress = new Progress(ctx);
  /** The item of a line that has no known shape, or undefined for a blank or comment line. */
  const item = (lineNo: number, text: string): Item | undefined => {
    try {
      return splitFlowLine(text, lineNo, defaultCommand);
    } catch (err) {
      return { lineNo, error: err as Error };
    }
  };
  const countBytes = (n: number): void => { bytes += n; };
  /**
   * A file's items, ITEMS_PER_STEP at a time (the flow table takes each step's in a plain
   * loop). Not a whole read block's at once: thousands of items made before any is used
   * outlive young collections, which then copy them (measured: scavenges 6-9 times longer).
   * One array for every step: the flow table reads a block through before it asks for the
   * next (operateBlocks), and a fresh empty array (small-integer elements until the first
   * item) deoptimized collect's push, compiled for arrays of objects. `pending` (the items
   * a run stopped before) come first.
   */
  function* fileItemBlocks(pending: Item[]): Generator<Item[]> {
    if (pending.length) yield pending;
    for (;;) {
      if (portsWanted()) return;
      if (next === lines.length) {
        linesBefore += lines.length;
        const step = lineBlocks!.next();
        if (step.done) return;
        lines = step.value;
        next = 0;
        continue;
      }
      items.length = 0;
      next = collect(lines, next, linesBefore + 1, items);
      if (items.length) yield items;
    }
  }
  // Where the file's items stand between the two runs (see portsWanted): the read block,
  // the index of its next line, the lines before it.
  const lineBlocks = file === '-' ? undefined : fileLineBlocks(file, countBytes);
  let lines: string[] = [];
  let next = 0;
  let linesBefore = 0;
  const items: Item[] = [];
  /**
   * The items of lines[i], lines[i + 1], ... into `items` until it has ITEMS_PER_STEP or the
   * lines end (lines[0] is line `firstLineNo`); returns the index after the last line read.
   * A function of its own, as tally is: V8 optimizes it rather than the generator.
   */
  function collect(lines: readonly string[], i: number, firstLineNo: number, items: Item[]): number {
    learntAtCollect = shapes.learnt;
    while (i < lines.length && items.length < ITEMS_PER_STEP) {
      const it = shapes.run(lines, i, lines.length, firstLineNo + i) ?? item(firstLineNo + i, lines[i]!);
      i += it !== undefined && 'kind' in it ? it.count : 1;
      if (it) items.push(it);
    }
    return i;
  }
  /** Standard input's items, after `pending`. */
  async function* stdinItems(pending: Item[]): AsyncGenerator<Item> {
    yield* pending;
    for (;;) {
      if (portsWanted()) return;
      const step = await stdin!.next();
      if (step.done) return;
      const text = step.value;
      stdinLineNo++;
      learntAtCollect = shapes.learnt;
      const it = shapes.run([text], 0, 1, stdinLineNo) ?? item(stdinLineNo, text);
      if (it) yield it;
    }
  }
  const stdin = file === '-' ? stdinLines(countBytes) : undefined;
  let stdinLineNo = 0;

  /** The items a run stopped before (PORTS_WANTED), in order. */
  const pending: Item[] = [];
  const operate = (waiting: Item[]): AsyncGenerator<BulkResult<Item>[]> => file === '-'
    ? target.table.operateBatches(stdinItems(waiting), toOp, { requests })
    : target.table.operateBlocks(fileItemBlocks(waiting), toOp, { requests });
  /**
   * Counts a batch's results and reports its failures. A function of its own: the loop
   * over every line's result in runFlowFile made V8 optimize all of runFlowFile (on stack),
   * which took longer to compile than a small function.
   */
  const tally = (results: readonly BulkResult<Item>[]): void => {
    for (let i = 0; i < results.length; i++) {
      const result = results[i]!;
      const { lineNo, command } = result.item;
      if (result.error) {
        if (result.error === PORTS_WANTED) {
          pending.push(result.item);
          continue;
        }
        failed++;
        progress.clear();
        const column = result.error instanceof LineError && result.error.column !== undefined ? `, column ${result.error.column}` : '';
        ctx.warn(`line ${lineNo + (result.index ?? 0)}${column}: ${errorLine(result.error)}`);
      } else if (command) counts[command] += result.count ?? 1;
    }
  };
  try {
    for (;;) {
      for await (const results of operate(pending.splice(0))) {
        tally(results);
        const done = counts.add + counts.modify + counts.delete;
        progress.update(totalBytes === undefined ? { done, failed } : { done, failed, bytes, totalBytes });
      }
      if (!pending.length) break;
      textOptions.portNumbers = (await portMaps(target.conn, target.datapath)).numbers;
      // An action word is looked up as a port's name first, and parsed as an action when
      // it names none (pop_vlan): the actions parsed with the probe are parsed again.
      actionsByText.clear();
      lastActionsText = undefined;
    }
  } finally {
    lineBlocks?.return(undefined);
    await stdin?.return(undefined);
  }
  progress.clear();
  const parts = (Object.keys(counts) as LineCommand[]).filter((c) => counts[c] > 0).map((c) => `${counts[c]} ${VERBS[c]}`);
  writeStderr(`${commandName}: ${parts.length ? parts.join(', ') : 'nothing applied'}, ${failed} failed\n`);
  if (failed) process.exitCode = 1;
}
