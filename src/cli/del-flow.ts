/** `ovsdp del-flow [-s] [DP] FLOW|ufid:ID`: delete one flow, by key or by UFID. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { monotonicMs } from '../client/clock.js';
import { checkArgCount, flowCommandHelp, parseBeforeConnecting, parseWithPortNames, withFlowTable } from './flow-args.js';

interface DelFlowOptions {
  statistics?: boolean;
}

async function run(args: string[], opts: DelFlowOptions, context: () => CliContext): Promise<void> {
  checkArgCount('del-flow', args, 1, 2, '[DP] FLOW');
  const ctx = context();
  const { formatFlowStats, parseFlowMatch } = await import('../client/flow-text.js');
  const parse = (rest: readonly string[], portNumbers: ReadonlyMap<string, number>) => parseFlowMatch(rest[0]!, { portNumbers });
  const parsed = parseBeforeConnecting(args, 2, parse);
  await withFlowTable(args, 2, async ({ conn, table, datapath, rest }) => {
    const match = parsed ?? await parseWithPortNames(conn, datapath, (portNumbers) => parse(rest, portNumbers));
    const gone = await table.del(match, { echo: opts.statistics === true });
    if (opts.statistics && gone) ctx.print(formatFlowStats(gone, monotonicMs()));
  });
}

/** `ovsdp del-flow [DP] FLOW`: no option, so no commander (registry.ts). */
export const plain = { minArgs: 1, run: (args: string[], context: () => CliContext) => run(args, {}, context) };

export function define(program: Command, context: () => CliContext): void {
  program
    .command('del-flow')
    .description('delete the flow FLOW (or ufid:ID, or ufid:ID,FLOW) from DP')
    .addHelpText('after', flowCommandHelp('ovsdp del-flow dp0 "in_port(1),eth(),eth_type(0x0806),arp()"', 'ovsdp del-flow dp0 ufid:6aa8b1b9-b3de-4a3e-9c35-5e7bc3e9ad50     (UFIDs: dump-flows -m)'))
    .argument('<args...>', '[dp] flow')
    .option('-s, --statistics', 'print the deleted flow\'s statistics')
    .action((args: string[], opts: DelFlowOptions) => run(args, opts, context));
}
