/** `ovsdp show [-s] [DP...]`: datapaths and their ports, exactly as ovs-dpctl shows them. */
import type { Command } from 'commander';
import type { OvsConnection } from '../client/connection.js';
import type { Datapath } from '../client/datapaths.js';
import { dpctlPortType } from '../ovs/vport.js';
import { type CliContext, UsageError } from './context.js';
import { datapathArg, reportAndContinue } from './dp-args.js';
import type { ShowDatapath } from './render/show.js';

interface ShowOptions {
  statistics?: boolean;
  features?: boolean;
  json?: boolean;
  format?: string;
}

/** A datapath's ports, with the device counters ovs-dpctl adds to system ports' statistics. */
export async function showData(conn: OvsConnection, dp: Datapath, statistics: boolean): Promise<ShowDatapath> {
  const { linkErrorCounters, listVports } = await import('../client/vports.js');
  const vports = await listVports(conn, dp);
  const systemPorts = statistics ? vports.filter((v) => dpctlPortType(v.type, v.name) === 'system').map((v) => v.name) : [];
  const links = await linkErrorCounters(systemPorts);
  return {
    datapath: dp,
    ports: vports.map((vport) => {
      const link = links.get(vport.name);
      return link ? { vport, link } : { vport };
    }),
  };
}

export function define(program: Command, context: () => CliContext): void {
  program
    .command('show')
    .description('show each datapath DP (default: all) with its counters, caches and ports')
    .argument('[dp...]', 'datapaths (dp0 or system@dp0)')
    .option('-s, --statistics', 'add each port\'s packet, byte and error counters')
    .option('--features', 'add a line with the datapath\'s features (ovs-dpctl has none)')
    .option('--json', 'print JSON for scripts')
    .option('--format <format>', 'text (ovs-dpctl\'s) or table', 'text')
    .action(async (dpArgs: string[], opts: ShowOptions) => {
      if (opts.format !== 'text' && opts.format !== 'table') throw new UsageError(`unknown --format "${opts.format}" (text or table)`);
      const names = dpArgs.map(datapathArg);
      const ctx = context();
      const { OvsConnection } = await import('../client/connection.js');
      const { getDatapath, listDatapaths } = await import('../client/datapaths.js');
      const render = await import('./render/show.js');
      const conn = new OvsConnection();
      try {
        let dps: Datapath[];
        if (names.length) {
          // As ovs-dpctl: a datapath that is not there is reported, the others shown.
          const found = await Promise.all(names.map((n) => getDatapath(conn, n).catch((err: unknown) => reportAndContinue(ctx, err))));
          dps = found.filter((dp): dp is Datapath => dp !== undefined);
        } else {
          dps = render.inDpctlOrder(await listDatapaths(conn));
        }
        const statistics = opts.statistics === true;
        // One dump at a time: the kernel refuses a second dump on a socket (EBUSY).
        const entries: ShowDatapath[] = [];
        for (const dp of dps) entries.push(await showData(conn, dp, statistics));
        if (opts.json) return ctx.printJSON(render.showJSON(entries));
        if (opts.format === 'table') {
          const { renderTable } = await import('./render/table.js');
          const dpTable = render.datapathTable(dps);
          const portTable = render.portTable(entries, statistics);
          return ctx.print(`${renderTable(ctx, dpTable.head, dpTable.rows)}\n\n${renderTable(ctx, portTable.head, portTable.rows)}`);
        }
        const text = render.renderShow(entries, { statistics, features: opts.features === true, style: ctx.style });
        if (text) process.stdout.write(text);
      } finally {
        conn.close();
      }
    });
}
