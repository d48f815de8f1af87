/** `ovsdp set-if DP IFACE[,OPTION=VALUE...]...`: change ports' upcall port ids or options. */
import type { Command } from 'commander';
import type { VportChanges } from '../client/vports.js';
import { dpctlPortType } from '../ovs/vport.js';
import type { CliContext } from './context.js';
import { IFACE_HELP } from './add-if.js';
import { checkIfaceOptions, datapathArg, parseIfaceSpec, reportAndContinue } from './dp-args.js';

export function define(program: Command, context: () => CliContext): void {
  program
    .command('set-if')
    .description('reconfigure each IFACE of datapath DP (type and port_no may be given but not changed)')
    .argument('<dp>', 'datapath (dp0 or system@dp0)')
    .argument('<iface...>', 'NAME[,upcall_pid=PID[:PID...]][,OPTION=VALUE...]')
    .addHelpText('after', `\n${IFACE_HELP}\nThe kernel cannot change the options of an existing tunnel port: delete and add it again.`)
    .action(async (dpArg: string, ifaces: string[]) => {
      const name = datapathArg(dpArg);
      const specs = ifaces.map(parseIfaceSpec);
      const ctx = context();
      const { OvsConnection } = await import('../client/connection.js');
      const { getDatapath } = await import('../client/datapaths.js');
      const { getVport, setVport } = await import('../client/vports.js');
      const conn = new OvsConnection();
      try {
        const dp = await getDatapath(conn, name);
        for (const spec of specs) {
          try {
            const port = await getVport(conn, dp, spec.name);
            const type = typeof port.type === 'string' ? port.type : 'netdev';
            const shown = dpctlPortType(port.type, port.name);
            const given = spec.type === 'netdev' ? 'system' : spec.type;
            // The type may be named as the kernel has it or as ovs-dpctl shows it (vxlan_sys_4789: vxlan).
            if (spec.type !== undefined && spec.type !== port.type && given !== shown) {
              throw new Error(`${spec.name}: can't change type from ${shown} to ${given} (delete the port and add it again)`);
            }
            if (spec.portNo !== undefined && spec.portNo !== port.portNo) {
              throw new Error(`${spec.name}: can't change port number from ${port.portNo} to ${spec.portNo} (delete the port and add it again)`);
            }
            checkIfaceOptions(ctx, spec, type);
            const changes: VportChanges = {};
            if (spec.options.dstPort !== undefined || spec.options.exts !== undefined) changes.options = { ...port.options, ...spec.options };
            if (spec.upcallPids) changes.upcallPids = spec.upcallPids;
            await setVport(conn, dp, port.portNo, changes);
          } catch (err) {
            reportAndContinue(ctx, err);
          }
        }
      } finally {
        conn.close();
      }
    });
}
