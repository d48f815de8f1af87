/** `ovsdp ct-del-limits [DP] zone=N1[,N2...]`: zones' own conntrack limits removed. */
import type { Command } from 'commander';
import { type CliContext, UsageError } from './context.js';
import { CT_LIMITS_HELP, splitDatapath, withLimitsConnection, zoneListArg } from './ct-limit-args.js';

export function define(program: Command, _context: () => CliContext): void {
  program
    .command('ct-del-limits')
    .description('remove zones\' own conntrack limits: they have the default limit again')
    .argument('<args...>', '[dp] zone=N1[,N2...]')
    .addHelpText('after', `
Example:
  ovsdp ct-del-limits zone=1,2
${CT_LIMITS_HELP}`)
    .action(async (args: string[]) => {
      const { dp, rest } = splitDatapath(args);
      if (rest.length === 0) throw new UsageError('ct-del-limits: no zones given (zone=N1[,N2...])');
      if (rest.length > 1) throw new UsageError(`ct-del-limits takes [DP] zone=N1[,N2...] (got ${args.length} arguments)`);
      const zones = zoneListArg(rest[0]!);
      const { deleteCtLimits } = await import('../client/ct-limits.js');
      await withLimitsConnection(dp, (conn) => deleteCtLimits(conn, zones));
    });
}
