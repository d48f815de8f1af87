/** `ovsdp mod-flow [--clear] [--may-create] [-s] [DP] FLOW ACTIONS`: change a flow's actions. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { flowCommandHelp, type PutCommandOptions, putFromArgs } from './flow-args.js';

async function run(args: string[], opts: PutCommandOptions, context: () => CliContext): Promise<void> {
  await putFromArgs(context(), 'mod-flow', args, opts.mayCreate ? 'upsert' : 'modify', opts);
}

/** `ovsdp mod-flow [DP] FLOW ACTIONS`: no option, so no commander (registry.ts). */
export const plain = { minArgs: 1, run: (args: string[], context: () => CliContext) => run(args, {}, context) };

export function define(program: Command, context: () => CliContext): void {
  program
    .command('mod-flow')
    .description('change the actions of the flow FLOW in DP to ACTIONS')
    .addHelpText('after', flowCommandHelp('ovsdp mod-flow dp0 "in_port(1),eth(),eth_type(0x0806),arp()" drop', 'ovsdp mod-flow --may-create --clear dp0 "in_port(1),eth(),eth_type(0x0806),arp()" 2'))
    .argument('<args...>', '[dp] flow actions')
    .option('--clear', 'reset the flow\'s statistics to zero')
    .option('--may-create', 'create the flow if it does not exist')
    .option('-s, --statistics', 'print the flow\'s statistics (as they were before --clear)')
    .action((args: string[], opts: PutCommandOptions) => run(args, opts, context));
}
