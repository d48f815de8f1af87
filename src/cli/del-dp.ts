/** `ovsdp del-dp DP`: delete a datapath and all its ports. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { datapathArg } from './dp-args.js';

export function define(program: Command, _context: () => CliContext): void {
  program
    .command('del-dp')
    .description('delete datapath DP and all its ports')
    .argument('<dp>', 'datapath (dp0 or system@dp0)')
    .action(async (dpArg: string) => {
      const name = datapathArg(dpArg);
      const { OvsConnection } = await import('../client/connection.js');
      const { deleteDatapath } = await import('../client/datapaths.js');
      const conn = new OvsConnection();
      try {
        await deleteDatapath(conn, name);
      } finally {
        conn.close();
      }
    });
}
