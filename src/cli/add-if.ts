/** `ovsdp add-if DP IFACE[,type=T,port_no=N,OPTION=V...]...`: add ports, as ovs-dpctl does. */
import type { Command } from 'commander';
import type { OvsConnection } from '../client/connection.js';
import type { Datapath } from '../client/datapaths.js';
import type { CliContext } from './context.js';
import { type IfaceSpec, checkIfaceOptions, datapathArg, parseIfaceSpec, reportAndContinue } from './dp-args.js';

export const IFACE_HELP = `IFACE is NAME[,type=TYPE][,port_no=N][,upcall_pid=PID[:PID...]][,OPTION=VALUE...]
  TYPE: system (an existing network device; the default), internal, vxlan, geneve, gre
  vxlan options: dst_port=PORT (default 4789), exts=gbp; geneve: dst_port=PORT (default 6081)
  ovs-vswitchd tunnel settings (remote_ip, key, ...) are accepted and ignored with a warning.`;

/**
 * Adds each port to `dp`; a failure is reported and the next port is tried (exit 1 at the
 * end). Returns the names of the ports that failed.
 */
export async function addPorts(ctx: CliContext, conn: OvsConnection, dp: Datapath, specs: readonly IfaceSpec[]): Promise<string[]> {
  const { addVport } = await import('../client/vports.js');
  const failed: string[] = [];
  for (const spec of specs) {
    try {
      const type = spec.type ?? 'netdev';
      checkIfaceOptions(ctx, spec, type);
      const options: Parameters<typeof addVport>[3] = { type, options: spec.options, up: true };
      if (spec.portNo !== undefined) options.portNo = spec.portNo;
      if (spec.upcallPids) options.upcallPids = spec.upcallPids;
      await addVport(conn, dp, spec.name, options);
    } catch (err) {
      reportAndContinue(ctx, err);
      failed.push(spec.name);
    }
  }
  return failed;
}

export function define(program: Command, context: () => CliContext): void {
  program
    .command('add-if')
    .description('add each IFACE as a port of datapath DP (and bring its device up)')
    .argument('<dp>', 'datapath (dp0 or system@dp0)')
    .argument('<iface...>', 'port to add: NAME[,type=TYPE,port_no=N,OPTION=VALUE...]')
    .addHelpText('after', `\n${IFACE_HELP}`)
    .action(async (dpArg: string, ifaces: string[]) => {
      const name = datapathArg(dpArg);
      const specs = ifaces.map(parseIfaceSpec);
      const ctx = context();
      const { OvsConnection } = await import('../client/connection.js');
      const { getDatapath } = await import('../client/datapaths.js');
      const conn = new OvsConnection();
      try {
        await addPorts(ctx, conn, await getDatapath(conn, name), specs);
      } finally {
        conn.close();
      }
    });
}
