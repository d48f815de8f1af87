/**
 * What the flow commands share: ovs-dpctl's optional DP argument (lib/dpctl.c
 * opt_dpif_open: the first argument is the datapath when it names one that exists, or
 * when every argument is given; otherwise the only datapath is meant), a connection and
 * flow table for it, and the datapath's port names for flow strings.
 */
import { monotonicMs } from '../client/clock.js';
import type { OvsConnection } from '../client/connection.js';
import type { Datapath } from '../client/datapaths.js';
import type { FlowTable, PutMode } from '../client/flows.js';
import { type CliContext, UsageError } from './context.js';
import { datapathArg } from './dp-args.js';

export interface FlowCommandTarget {
  conn: OvsConnection;
  table: FlowTable;
  datapath: Datapath;
  /** the arguments after the DP */
  rest: string[];
}

/** The datapath the arguments name (see above) and the arguments that follow it. */
export async function splitDatapathArg(conn: OvsConnection, args: readonly string[], maxArgs: number, minRest = 0): Promise<{ datapath: Datapath; rest: string[] }> {
  const { listDatapaths } = await import('../client/datapaths.js');
  const all = await listDatapaths(conn);
  const first = args[0];
  const named = first === undefined ? undefined : all.find((dp) => dp.name === first || `system@${dp.name}` === first);
  if (named) {
    // ovs-dpctl reads the first argument as the datapath only when all are given; we also
    // when it names one, so the arguments the command needs after it may be missing.
    if (args.length - 1 < minRest) {
      throw new UsageError(`"${first}" names a datapath, so ${minRest} argument${minRest === 1 ? '' : 's'} must follow it (got ${args.length - 1}; see --help)`);
    }
    return { datapath: named, rest: args.slice(1) };
  }
  if (first !== undefined && args.length >= maxArgs) {
    // Not a command-line mistake but the kernel's state (exit 1), as for show and del-dp.
    const name = datapathArg(first);
    throw new Error(`no datapath named ${name}${all.length ? ` (there are: ${all.map((d) => d.name).join(', ')})` : ''}`);
  }
  if (all.length === 1) return { datapath: all[0]!, rest: [...args] };
  if (all.length === 0) throw new Error('no datapaths exist (create one with: ovsdp add-dp dp0)');
  throw new UsageError(`several datapaths exist (${all.map((d) => d.name).join(', ')}): name one`);
}

/**
 * Runs `fn` with a connection and the flow table of the datapath the arguments name; the
 * connection is closed afterwards. `minRest`: how many arguments must follow a datapath
 * (all but it, unless the command says fewer).
 */
export async function withFlowTable<T>(
  args: readonly string[], maxArgs: number, fn: (target: FlowCommandTarget) => Promise<T>, minRest = maxArgs - 1,
): Promise<T> {
  // Loaded together: start-up waits for one round of module loading, not two.
  const [{ OvsConnection }, { FlowTable }, { flowFamily }] = await Promise.all([
    import('../client/connection.js'), import('../client/flows.js'), import('../ovs/flow.js'),
  ]);
  const conn = new OvsConnection();
  // ovs_flow's id is asked for with the datapath's family, not a round trip later (the
  // connection caches it; a failure is seen, as before, by the first request that needs it).
  conn.family(flowFamily).catch(() => undefined);
  let table: FlowTable | undefined;
  try {
    const { datapath, rest } = await splitDatapathArg(conn, args, maxArgs, minRest);
    table = new FlowTable(conn, datapath);
    return await fn({ conn, table, datapath, rest });
  } finally {
    table?.close();
    conn.close();
  }
}

export interface PortMaps {
  /** name -> number, for flow strings that name ports */
  numbers: Map<string, number>;
  /** number -> name, for printing */
  names: Map<number, string>;
}

/** The datapath's ports by name and by number. */
export async function portMaps(conn: OvsConnection, datapath: Datapath): Promise<PortMaps> {
  const { listVports } = await import('../client/vports.js');
  const ports = await listVports(conn, datapath);
  return {
    numbers: new Map(ports.map((p) => [p.name, p.portNo])),
    names: new Map(ports.map((p) => [p.portNo, p.name])),
  };
}

/** A port name map that remembers being asked, so that a parse tells whether the ports were needed. */
export class PortNameProbe extends Map<string, number> {
  asked = false;

  override get(_name: string): number | undefined {
    this.asked = true;
    return undefined;
  }
}

/**
 * `parse` given the datapath's port numbers by name, which are listed (a round trip to
 * the kernel) only when the text names a port: a first parse without ports stands unless
 * it looked a name up; then it is parsed again with them, as if they had been there from
 * the start (parsing is pure).
 */
export async function parseWithPortNames<T>(
  conn: OvsConnection, datapath: Datapath, parse: (portNumbers: ReadonlyMap<string, number>) => T,
): Promise<T> {
  const probe = new PortNameProbe();
  try {
    const parsed = parse(probe);
    if (!probe.asked) return parsed;
  } catch (err) {
    if (!probe.asked) throw err;
  }
  return parse((await portMaps(conn, datapath)).numbers);
}

/**
 * Parses a command's flow arguments before any kernel is asked, so that a mistake in them
 * is reported (with its place) even where no datapath can be reached (ovs-dpctl opens the
 * datapath first). Only where the arguments' places do not depend on which datapaths
 * exist (splitDatapathArg): every argument given, or a first argument that is a flow (a
 * datapath's name has no "("). Returns the parse when it stands, which the command then
 * uses as is; undefined where the places were not known yet or the text named a port
 * (the command parses with the datapath's ports: parseWithPortNames).
 */
export function parseBeforeConnecting<T>(
  args: readonly string[], maxArgs: number, parse: (rest: readonly string[], portNumbers: ReadonlyMap<string, number>) => T,
): T | undefined {
  const rest = args.length === maxArgs ? args.slice(1) : args[0]?.includes('(') ? args : undefined;
  if (rest === undefined) return undefined;
  const probe = new PortNameProbe();
  try {
    const parsed = parse(rest, probe);
    return probe.asked ? undefined : parsed;
  } catch (err) {
    if (!probe.asked) throw err;
    return undefined;
  }
}

/** Where a flow command's help sends the reader for the flow language. */
const FLOW_SYNTAX_HELP = `FLOW and ACTIONS are in ovs-dpctl's syntax, as dump-flows prints them: an attribute or
field left out matches anything, FIELD=VALUE/MASK matches the mask's bits. Every key
attribute and action (ct(...) and nat(...) included): docs/flow-syntax.md in the package.`;

/** The help after a flow command's options: examples, then where the flow syntax is described. */
export function flowCommandHelp(...examples: string[]): string {
  return `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}\n\n${FLOW_SYNTAX_HELP}`;
}

/** The help of the flow file commands: a file's lines, then examples. */
export function flowFileHelp(...examples: string[]): string {
  return `\nEach line of FILE is "[add|modify|delete] FLOW ACTIONS" (a delete line has no ACTIONS; the
command word defaults to this command's), blank, or a comment from "#"; each failing line
is reported with its number and column, the others applied, and the exit status is 1.
${flowCommandHelp(...examples)}`;
}

/** Checks the number of arguments a command got against ovs-dpctl's limits. */
export function checkArgCount(command: string, args: readonly string[], min: number, max: number, usage: string): void {
  if (args.length < min || args.length > max) {
    throw new UsageError(`${command} takes ${usage} (got ${args.length} argument${args.length === 1 ? '' : 's'})`);
  }
  // With all its arguments, the first is the datapath. A flow or an action there (no
  // device name has "(" or ":") means one argument too many, or a flow split in two:
  // said so, rather than parsing what follows as the flow.
  const first = args[0];
  if (args.length === max && max > min && first !== undefined && /[(:]/.test(first)) {
    const hint = first.startsWith('ufid:') ? 'a UFID and its key are one argument: ufid:ID,FLOW' : 'an argument too many?';
    throw new UsageError(`${command} takes ${usage}: with ${max} arguments the first is the datapath, and "${first}" is not a datapath name (${hint})`);
  }
}

export interface PutCommandOptions {
  statistics?: boolean;
  clear?: boolean;
  mayCreate?: boolean;
}

/** add-flow / mod-flow: `[DP] FLOW ACTIONS`; with -s prints the flow's statistics. */
export async function putFromArgs(ctx: CliContext, command: string, args: readonly string[], mode: PutMode, opts: PutCommandOptions): Promise<void> {
  checkArgCount(command, args, 2, 3, '[DP] FLOW ACTIONS');
  const { formatFlowStats, parseFlowText } = await import('../client/flow-text.js');
  const parse = (rest: readonly string[], portNumbers: ReadonlyMap<string, number>) => parseFlowText(rest[0]!, rest[1]!, { portNumbers });
  const parsed = parseBeforeConnecting(args, 3, parse);
  await withFlowTable(args, 3, async ({ conn, table, datapath, rest }) => {
    const flow = parsed ?? await parseWithPortNames(conn, datapath, (portNumbers) => parse(rest, portNumbers));
    const put = await table.put(flow, { mode, clear: opts.clear === true, echo: opts.statistics === true });
    if (opts.statistics && put) ctx.print(formatFlowStats(put, monotonicMs()));
  });
}
