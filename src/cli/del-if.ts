/** `ovsdp del-if DP IFACE...`: delete ports by name or number. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { datapathArg, reportAndContinue } from './dp-args.js';

export function define(program: Command, context: () => CliContext): void {
  program
    .command('del-if')
    .description('delete each IFACE (a port name, or a port number) from datapath DP')
    .argument('<dp>', 'datapath (dp0 or system@dp0)')
    .argument('<iface...>', 'port name or number')
    .action(async (dpArg: string, ifaces: string[]) => {
      const name = datapathArg(dpArg);
      // As in ovs-dpctl, an argument of digits only is a port number.
      const ports = ifaces.map((p) => (/^\d+$/.test(p) ? Number(p) : p));
      const ctx = context();
      const { OvsConnection } = await import('../client/connection.js');
      const { getDatapath } = await import('../client/datapaths.js');
      const { deleteVport } = await import('../client/vports.js');
      const conn = new OvsConnection();
      try {
        const dp = await getDatapath(conn, name);
        for (const port of ports) await deleteVport(conn, dp, port).catch((err: unknown) => reportAndContinue(ctx, err));
      } finally {
        conn.close();
      }
    });
}
