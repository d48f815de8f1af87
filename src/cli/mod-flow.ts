/** `ovsdp mod-flow [--clear] [--may-create] [-s] [DP] FLOW ACTIONS`: change a flow's actions. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { type PutCommandOptions, putFromArgs } from './flow-args.js';

export function define(program: Command, context: () => CliContext): void {
  program
    .command('mod-flow')
    .description('change the actions of the flow FLOW in DP to ACTIONS')
    .argument('<args...>', '[dp] flow actions')
    .option('--clear', 'reset the flow\'s statistics to zero')
    .option('--may-create', 'create the flow if it does not exist')
    .option('-s, --statistics', 'print the flow\'s statistics (as they were before --clear)')
    .action(async (args: string[], opts: PutCommandOptions) => {
      await putFromArgs(context(), 'mod-flow', args, opts.mayCreate ? 'upsert' : 'modify', opts);
    });
}
