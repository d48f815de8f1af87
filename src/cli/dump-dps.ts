/** `ovsdp dump-dps`: the datapaths' names, in ovs-dpctl's order. */
import type { Command } from 'commander';
import { type CliContext, UsageError } from './context.js';

interface DumpDpsOptions {
  json?: boolean;
  format?: string;
}

export function define(program: Command, context: () => CliContext): void {
  program
    .command('dump-dps')
    .description('list the datapaths (system@NAME, in the order ovs-dpctl lists them)')
    .option('--json', 'print the datapaths as JSON (counters, features, masks cache)')
    .option('--format <format>', 'text (ovs-dpctl\'s) or table', 'text')
    .action(async (opts: DumpDpsOptions) => {
      if (opts.format !== 'text' && opts.format !== 'table') throw new UsageError(`unknown --format "${opts.format}" (text or table)`);
      const ctx = context();
      const { OvsConnection } = await import('../client/connection.js');
      const { listDatapaths } = await import('../client/datapaths.js');
      const { datapathTable, dpctlName, inDpctlOrder } = await import('./render/show.js');
      const conn = new OvsConnection();
      try {
        const ordered = inDpctlOrder(await listDatapaths(conn));
        if (opts.json) return ctx.printJSON(ordered);
        if (opts.format === 'table') {
          const { renderTable } = await import('./render/table.js');
          const { head, rows } = datapathTable(ordered);
          return ctx.print(renderTable(ctx, head, rows));
        }
        if (ordered.length) ctx.print(ordered.map((dp) => dpctlName(dp.name)).join('\n'));
      } finally {
        conn.close();
      }
    });
}
