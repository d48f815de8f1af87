/** `ovsdp get-flow [-m] [--names|--no-names] [--json] [DP] ufid:ID`: one flow, by UFID. */
import type { Command } from 'commander';
import { type CliContext, UsageError } from './context.js';
import { monotonicMs } from '../client/clock.js';
import { checkArgCount, flowCommandHelp, portMaps, withFlowTable } from './flow-args.js';
import type { FlowListOptions } from './render/flows.js';

export function define(program: Command, context: () => CliContext): void {
  program
    .command('get-flow')
    .description('print the flow with UFID ID in DP, as dump-flows prints it')
    .addHelpText('after', flowCommandHelp('ovsdp get-flow dp0 ufid:6aa8b1b9-b3de-4a3e-9c35-5e7bc3e9ad50     (UFIDs: dump-flows -m)'))
    .argument('<args...>', '[dp] ufid:ID')
    .option('-m, --more', 'print the UFID and wildcarded fields too')
    .option('--names', 'print port names (the default with -m)')
    .option('--no-names', 'print port numbers')
    .option('--json', 'print JSON for scripts')
    .action(async (args: string[], opts: FlowListOptions) => {
      checkArgCount('get-flow', args, 1, 2, '[DP] ufid:ID');
      const ctx = context();
      const render = await import('./render/flows.js');
      const { parseFlowMatch } = await import('../client/flow-text.js');
      const ufidOf = (text: string): Buffer => {
        const parsed = text.startsWith('ufid:') ? parseFlowMatch(text) : undefined;
        if (!parsed?.ufid || Object.keys(parsed.key).length) throw new UsageError(`"${text}" is not ufid:ID (ID as ovs-dpctl -m prints it: ufid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`);
        return parsed.ufid;
      };
      // A malformed UFID (the last argument) is reported before the kernel is asked.
      const last = args[args.length - 1]!;
      const early = last.startsWith('ufid:') ? ufidOf(last) : undefined;
      await withFlowTable(args, 2, async ({ conn, table, datapath, rest }) => {
        const flow = await table.get({ ufid: early ?? ufidOf(rest[0]!) });
        if (opts.json) return ctx.printJSON(render.flowJSON(flow));
        const portNames = render.wantNames(opts) ? (await portMaps(conn, datapath)).names : undefined;
        ctx.print(render.flowLine(flow, monotonicMs(), opts, portNames));
      });
    });
}
