/** `ovsdp ct-get-limits [DP] [zone=N1[,N2...]]`: conntrack zone limits, as ovs-dpctl prints them. */
import type { Command } from 'commander';
import { type CliContext, UsageError } from './context.js';
import { CT_LIMITS_HELP, splitDatapath, withLimitsConnection, zoneListArg } from './ct-limit-args.js';

export function define(program: Command, context: () => CliContext): void {
  program
    .command('ct-get-limits')
    .description('print the default conntrack zone limit and the zones\' limits with their connection counts')
    .argument('[args...]', '[dp] [zone=N1[,N2...]] (without zones: every zone with a limit of its own)')
    .option('--json', 'print {"defaultLimit", "zones": [{"zone", "limit", "count"}]}')
    .addHelpText('after', `
Examples:
  ovsdp ct-get-limits
  ovsdp ct-get-limits dp0 zone=1,2
${CT_LIMITS_HELP}`)
    .action(async (args: string[], opts: { json?: boolean }) => {
      const { dp, rest } = splitDatapath(args);
      if (rest.length > 1) throw new UsageError(`ct-get-limits takes [DP] [zone=N1[,N2...]] (got ${args.length} arguments)`);
      const zones = rest.length ? zoneListArg(rest[0]!) : undefined;
      const ctx = context();
      const { getCtLimits } = await import('../client/ct-limits.js');
      const limits = await withLimitsConnection(dp, (conn) => getCtLimits(conn, zones));
      if (opts.json) return ctx.printJSON(limits);
      const { renderCtLimits } = await import('./render/ct-limits.js');
      ctx.print(renderCtLimits(limits));
    });
}
