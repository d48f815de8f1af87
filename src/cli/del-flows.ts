/** `ovsdp del-flows [DP] [FILE]`: delete every flow of DP, or the flows FILE lists. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { checkArgCount, flowFileHelp, withFlowTable } from './flow-args.js';

async function run(args: string[], context: () => CliContext): Promise<void> {
  checkArgCount('del-flows', args, 0, 2, '[DP] [FILE]');
  await withFlowTable(args, 2, async (target) => {
    // As ovs-dpctl: one argument is the datapath when one has that name, else a file.
    if (target.rest.length === 0) return target.table.flush();
    const { runFlowFile } = await import('./bulk.js');
    return runFlowFile(context(), target, target.rest[0]!, 'delete', 'del-flows');
  }, 0);
}

export const plain = { minArgs: 0, run };

export function define(program: Command, context: () => CliContext): void {
  program
    .command('del-flows')
    .description('delete all flows of DP, or (with FILE, "-" for stdin) the flows it lists, one per line')
    .addHelpText('after', flowFileHelp('ovsdp del-flows dp0                (every flow)', 'ovsdp del-flows dp0 keys.txt', 'keys.txt:   in_port(1),eth(),eth_type(0x0806),arp()'))
    .argument('[args...]', '[dp] [file]')
    .action((args: string[]) => run(args, context));
}
