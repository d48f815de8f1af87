/**
 * `ovsdp dump-flows [-m] [--names|--no-names] [--json] [DP] [filter=MATCH] [type=TYPES]`:
 * every flow of a datapath, streamed, printed exactly as ovs-dpctl prints them.
 */
import { writeSync } from 'node:fs';
import type { Command } from 'commander';
import { DumpInterruptedError } from '../nl/socket.js';
import { type CliContext, UsageError, endQuietlyOnClosedStdout } from './context.js';
import { monotonicMs } from '../client/clock.js';
import { flowCommandHelp, portMaps, withFlowTable } from './flow-args.js';
import { isRegularFile, writeStdout } from './stdio.js';
import type { FlowListOptions } from './render/flows.js';

/** type= values ovs-dpctl knows; the kernel datapath's flows are all "ovs", not offloaded. */
const KERNEL_TYPES = new Set(['ovs', 'non-offloaded', 'all']);
const OTHER_TYPES = new Set(['tc', 'dpdk', 'offloaded', 'partially-offloaded']);

/** Whether a type= list selects the kernel datapath's own flows. */
export function typesSelectKernelFlows(list: string): boolean {
  let selected = false;
  for (const type of list.split(',').filter(Boolean)) {
    if (KERNEL_TYPES.has(type)) selected = true;
    else if (!OTHER_TYPES.has(type)) throw new UsageError(`unknown flow type "${type}" in type= (known: ovs, tc, dpdk, offloaded, non-offloaded, partially-offloaded, all)`);
  }
  return selected;
}

/** Text kept for stdout that is a file until there is this much (UTF-16 units). */
const FILE_WRITE_CHARS = 64 * 1024;

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * How dump-flows text for a file is encoded: it is ASCII but for port names, so without a
 * non-ASCII name latin1, which copies the characters as they are (UTF-8 encodes them one
 * by one); with one, UTF-8.
 */
export function flowTextEncoding(portNames: ReadonlyMap<number, string> | undefined): 'latin1' | 'utf8' {
  if (portNames) for (const name of portNames.values()) if (NON_ASCII.test(name)) return 'utf8';
  return 'latin1';
}

async function run(args: string[], opts: FlowListOptions, context: () => CliContext): Promise<void> {
  const ctx = context();
  // Like ovs-dpctl: filter= and type= are taken from the end of the arguments.
  const rest = [...args];
  let filter: string | undefined;
  let types: string | undefined;
  let pmd: string | undefined;
  for (let changed = true; changed && rest.length;) {
    changed = false;
    const last = rest[rest.length - 1]!;
    if (last.startsWith('filter=') && filter === undefined) { filter = last.slice(7); rest.pop(); changed = true; }
    else if (last.startsWith('type=') && types === undefined) { types = last.slice(5); rest.pop(); changed = true; }
    else if (last.startsWith('pmd=')) { pmd = last.slice(4); rest.pop(); changed = true; }
  }
  if (rest.length > 1) throw new UsageError(`dump-flows takes [DP] [filter=MATCH] [type=TYPES] (unexpected "${rest[1]}")`);
  if (pmd !== undefined && !/^-?\d+$/.test(pmd)) throw new UsageError(`pmd=${pmd}: expected a CPU core number (or -1)`);
  // The kernel datapath has no PMD threads: ovs-dpctl prints none of its flows for any pmd=.
  const selected = pmd === undefined && (types === undefined || typesSelectKernelFlows(types));
  const render = await import('./render/flows.js');
  const { compileFilter } = filter === undefined ? { compileFilter: undefined } : await import('../ovs/flow-filter.js');
  await withFlowTable(rest, 1, async ({ conn, table, datapath }) => {
    const ports = filter !== undefined || render.wantNames(opts) ? await portMaps(conn, datapath) : undefined;
    let matches: ReturnType<NonNullable<typeof compileFilter>> | undefined;
    try {
      matches = filter !== undefined && compileFilter ? compileFilter(filter, ports!.numbers) : undefined;
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const names = render.wantNames(opts) ? ports?.names : undefined;
    const json: unknown[] = [];
    const now = monotonicMs();
    // Stdout that is a regular file is written with write(2) directly, 64 KiB or more at
    // a time: the stream would write each batch (~20 KiB) synchronously all the same, but
    // through a Buffer made per batch and Writable's bookkeeping (host, 20,000 lines in
    // batches of ~20 KiB: stream ~10 ms, write(2) per batch ~6, per 64 KiB ~4.5). Pipes
    // and terminals take each batch as it comes (writeStdout: the reader paces the writes).
    const toFile = isRegularFile(1);
    const encoding = flowTextEncoding(names);
    let pending = '';
    /** Text for stdout: a batch's, at once (with backpressure), or kept for a larger write to a file. */
    const write = async (text: string): Promise<void> => {
      if (!text.length) return;
      if (toFile) {
        pending += text;
        // One call, as the stream makes for a file (a regular file takes the whole write).
        if (pending.length >= FILE_WRITE_CHARS) flush();
      } else await writeStdout(text, encoding);
    };
    const flush = (): void => {
      if (pending.length) writeSync(1, pending, null, encoding);
      pending = '';
    };
    try {
      // A batch at a time (a datagram's worth of flows or more): one turn of async
      // iteration and one write per batch, not per flow.
      if (!opts.json && !matches) {
        // Plain text: printed from the reply bytes (repeated attributes printed once).
        const print = render.rawFlowLinesPrinter(now, opts, names);
        for await (const msgs of table.dumpRawBatches()) {
          if (selected) await write(print(msgs));
        }
      } else {
        const line = render.flowLineFormatter(now, opts, names);
        for await (const flows of table.dumpBatches()) {
          if (!selected) continue;
          const lines: string[] = [];
          for (const flow of flows) {
            if (matches && !matches(flow.key ?? {}, flow.mask ?? {})) continue;
            if (opts.json) json.push(render.flowJSON(flow));
            else lines.push(line(flow));
          }
          if (lines.length) await write(`${lines.join('\n')}\n`);
        }
      }
    } catch (err) {
      if (!(err instanceof DumpInterruptedError)) throw err;
      flush();
      ctx.warn('the kernel flagged the dump as interrupted by concurrent flow changes: some flows may be missing or repeated');
      process.exitCode = 1;
    } finally {
      flush();
    }
    if (opts.json) ctx.printJSON(json);
  });
}

/** `ovsdp dump-flows [DP] [filter=...] [type=...]`: no option, so no commander (registry.ts). */
export const plain = {
  minArgs: 0,
  run: async (args: string[], context: () => CliContext): Promise<void> => {
    endQuietlyOnClosedStdout();
    await run(args, {}, context);
  },
};

export function define(program: Command, context: () => CliContext): void {
  program
    .command('dump-flows')
    .description('print every flow of DP (DP may be left out when there is only one datapath)')
    .addHelpText('after', flowCommandHelp('ovsdp dump-flows dp0', 'ovsdp dump-flows -m dp0 filter=tcp,nw_dst=10.0.0.0/24,tp_dst=80', 'ovsdp dump-flows --json dp0 > flows.json'))
    .argument('[args...]', '[dp] [filter=MATCH] [type=TYPES] [pmd=N]')
    .option('-m, --more', 'print UFIDs and wildcarded fields too')
    .option('--names', 'print port names (the default with -m)')
    .option('--no-names', 'print port numbers')
    .option('--json', 'print JSON for scripts')
    .action((args: string[], opts: FlowListOptions) => run(args, opts, context));
}
