/** `ovsdp cache-get-size [DP]`: the datapaths' cache sizes, as ovs-dpctl prints them. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { datapathArg } from './dp-args.js';

interface CacheGetSizeOptions {
  json?: boolean;
}

export function define(program: Command, context: () => CliContext): void {
  program
    .command('cache-get-size')
    .description('print the cache sizes of DP (default: of every datapath); a kernel datapath has one cache, masks-cache')
    .argument('[dp]', 'datapath (dp0 or system@dp0)')
    .option('--json', 'print [{"name", "masksCacheSize"}] for scripts')
    .addHelpText('after', `
Examples:
  ovsdp cache-get-size
  ovsdp cache-get-size --json dp0

The masks cache remembers, per CPU, which flow mask last matched a packet's hash, so
that most lookups try that mask first. A new datapath's has 256 entries; change its size
with cache-set-size.`)
    .action(async (dpArg: string | undefined, opts: CacheGetSizeOptions) => {
      const name = dpArg === undefined ? undefined : datapathArg(dpArg);
      const ctx = context();
      const { OvsConnection } = await import('../client/connection.js');
      const { getDatapath, listDatapaths } = await import('../client/datapaths.js');
      const { cacheSizesJSON, inDpctlOrder, renderCacheSizes } = await import('./render/show.js');
      const conn = new OvsConnection();
      try {
        const dps = name === undefined ? inDpctlOrder(await listDatapaths(conn)) : [await getDatapath(conn, name)];
        if (opts.json) return ctx.printJSON(dps.map(cacheSizesJSON));
        const text = renderCacheSizes(dps, ctx.style);
        if (text) ctx.print(text);
      } finally {
        conn.close();
      }
    });
}
