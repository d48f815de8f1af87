/** `ovsdp mod-flows [DP] FILE`: change the flows of FILE ("-": stdin), many per request batch. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { checkArgCount, flowFileHelp, withFlowTable } from './flow-args.js';

async function run(args: string[], context: () => CliContext): Promise<void> {
  checkArgCount('mod-flows', args, 1, 2, '[DP] FILE');
  // The bulk code loads while the connection is set up.
  const bulk = import('./bulk.js');
  await withFlowTable(args, 2, async (target) => (await bulk).runFlowFile(context(), target, target.rest[0]!, 'modify', 'mod-flows'));
}

export const plain = { minArgs: 1, run };

export function define(program: Command, context: () => CliContext): void {
  program
    .command('mod-flows')
    .description('change the actions of the flows of FILE in DP, one "[add|modify|delete] FLOW ACTIONS" per line ("-" reads stdin)')
    .addHelpText('after', flowFileHelp('ovsdp mod-flows dp0 flows.txt', 'flows.txt:  in_port(1),eth(),eth_type(0x0806),arp() drop'))
    .argument('<args...>', '[dp] file')
    .action((args: string[]) => run(args, context));
}
