/** `ovsdp add-dp DP [IFACE...]`: create a datapath, negotiating features as ovs-dpctl does. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { IFACE_HELP, addPorts } from './add-if.js';
import { datapathArg, featureList, parseIfaceSpec } from './dp-args.js';

interface AddDpOptions {
  features?: string;
  masksCacheSize?: string;
}

export function define(program: Command, context: () => CliContext): void {
  program
    .command('add-dp')
    .description('create datapath DP, then add each IFACE as a port')
    .argument('<dp>', 'name of the new datapath (dp0 or system@dp0)')
    .argument('[iface...]', 'ports to add, as for add-if')
    .option('--features <list>', 'exactly these features (comma-separated) instead of negotiating them like ovs-dpctl')
    .option('--masks-cache-size <n>', 'size of the masks cache (a power of two; 0 turns it off)')
    .addHelpText('after', `\n${IFACE_HELP}\nFeatures: unaligned, vport_pids, tc_recirc_sharing, dispatch_upcall_per_cpu.`)
    .action(async (dpArg: string, ifaces: string[], opts: AddDpOptions) => {
      const name = datapathArg(dpArg);
      const specs = ifaces.map(parseIfaceSpec);
      const { masksCacheSizeArg } = await import('./set-dp.js');
      const createOptions: import('../client/datapaths.js').CreateDatapathOptions = {};
      if (opts.features !== undefined) createOptions.features = featureList(opts.features);
      if (opts.masksCacheSize !== undefined) createOptions.masksCacheSize = masksCacheSizeArg(opts.masksCacheSize);
      const ctx = context();
      const { OvsConnection } = await import('../client/connection.js');
      const { createDatapath } = await import('../client/datapaths.js');
      const conn = new OvsConnection();
      try {
        const dp = await createDatapath(conn, name, createOptions);
        // The datapath stays (as ovs-dpctl leaves it): said so, with what to do next.
        const failed = await addPorts(ctx, conn, dp, specs);
        if (failed.length) ctx.warn(`datapath ${dp.name} was created without ${failed.join(', ')}: add ${failed.length === 1 ? 'it' : 'them'} with add-if, or remove it with del-dp ${dp.name}`);
      } finally {
        conn.close();
      }
    });
}
