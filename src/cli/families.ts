/** `ovsdp families`: the OVS generic netlink families the kernel offers. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { renderTable } from './render/table.js';

interface FamiliesOptions {
  json?: boolean;
  all?: boolean;
}

export function define(program: Command, context: () => CliContext): void {
  program
    .command('families')
    .description('list the Open vSwitch generic netlink families the kernel offers (name, id, version, multicast groups)')
    .option('--json', 'print JSON for scripts')
    .option('-a, --all', 'list every generic netlink family, not only OVS ones')
    .action(async (opts: FamiliesOptions) => {
      const { listOvsFamilies } = await import('../client/families.js');
      const families = await listOvsFamilies({ all: opts.all === true });
      const ctx = context();
      if (opts.json) ctx.printJSON(families);
      // No OVS family is a failure for scripts too: after the JSON (an empty list), exit status 1.
      if (families.length === 0) {
        ctx.warn('no Open vSwitch families: the openvswitch kernel module is not loaded (try: modprobe openvswitch)');
        process.exitCode = 1;
      } else if (!opts.json) {
        ctx.print(renderTable(ctx, ['family', 'id', 'version', 'multicast groups'],
          families.map((f) => [f.name, String(f.id), String(f.version), f.groups.map((g) => `${g.name}(${g.id})`).join(' ')])));
      }
    });
}
