/** `ovsdp ct-set-limits [DP] [default=L] [zone=N,limit=L]...`: set conntrack zone limits. */
import type { Command } from 'commander';
import { type CliContext, UsageError } from './context.js';
import { CT_LIMITS_HELP, defaultLimitArg, splitDatapath, withLimitsConnection, zoneLimitArg } from './ct-limit-args.js';

export function define(program: Command, _context: () => CliContext): void {
  program
    .command('ct-set-limits')
    .description('set the default conntrack zone limit and zones\' own limits (0: no limit)')
    .argument('<args...>', '[dp] [default=L] [zone=N,limit=L]... (default=L may come anywhere after DP)')
    .addHelpText('after', `
Examples:
  ovsdp ct-set-limits default=10000 zone=1,limit=100
  ovsdp ct-set-limits dp0 zone=2,limit=0
${CT_LIMITS_HELP}
ct-del-limits gives zones the default limit again; ct-get-limits shows them.`)
    .action(async (args: string[]) => {
      const { dp, rest } = splitDatapath(args);
      const changes: { defaultLimit?: number; zones: { zone: number; limit: number }[] } = { zones: [] };
      for (const arg of rest) {
        if (!arg.startsWith('default=')) changes.zones.push(zoneLimitArg(arg));
        else if (changes.defaultLimit === undefined) changes.defaultLimit = defaultLimitArg(arg);
        else throw new UsageError(`"${arg}": the default limit is given twice`);
      }
      if (changes.defaultLimit === undefined && changes.zones.length === 0) throw new UsageError('ct-set-limits: nothing to set (give default=L or zone=N,limit=L)');
      const { setCtLimits } = await import('../client/ct-limits.js');
      await withLimitsConnection(dp, (conn) => setCtLimits(conn, changes));
    });
}
