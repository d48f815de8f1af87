/** `ovsdp add-flow [-s] [DP] FLOW ACTIONS`: install a flow that must not exist yet. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { flowCommandHelp, type PutCommandOptions, putFromArgs } from './flow-args.js';

async function run(args: string[], opts: PutCommandOptions, context: () => CliContext): Promise<void> {
  await putFromArgs(context(), 'add-flow', args, 'create', opts);
}

/** `ovsdp add-flow [DP] FLOW ACTIONS`: no option, so no commander (registry.ts). */
export const plain = { minArgs: 1, run: (args: string[], context: () => CliContext) => run(args, {}, context) };

export function define(program: Command, context: () => CliContext): void {
  program
    .command('add-flow')
    .description('add FLOW with ACTIONS to DP (DP may be left out when there is only one datapath)')
    .addHelpText('after', flowCommandHelp(
      'ovsdp add-flow dp0 "in_port(1),eth(),eth_type(0x0806),arp()" 2',
      'ovsdp add-flow "in_port(1),eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(),tcp_flags(0/0)" \\\n      "ct(commit,zone=1,nat(src=10.1.1.240-10.1.1.255)),2"',
    ))
    .argument('<args...>', '[dp] flow actions, in ovs-dpctl\'s syntax, e.g. "in_port(1),eth_type(0x0800),ipv4(dst=10.0.0.2)" 2')
    .option('-s, --statistics', 'print the new flow\'s statistics')
    .action((args: string[], opts: PutCommandOptions) => run(args, opts, context));
}
