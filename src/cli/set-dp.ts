/** `ovsdp set-dp DP --features ...`: the one way to change an existing datapath. */
import type { Command } from 'commander';
import type { DatapathChanges } from '../client/datapaths.js';
import { MASKS_CACHE_SIZES } from '../ovs/datapath.js';
import { type CliContext, UsageError } from './context.js';
import { datapathArg, featureList } from './dp-args.js';

interface SetDpOptions {
  features?: string;
  masksCacheSize?: string;
  perCpuPids?: string;
  upcallPid?: string;
  json?: boolean;
}

export function masksCacheSizeArg(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xffffffff) throw new UsageError(`bad masks cache size "${text}" (${MASKS_CACHE_SIZES})`);
  return Number(text);
}

function pidArg(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xffffffff) throw new UsageError(`bad ${what} "${text}"`);
  return Number(text);
}

/**
 * --features LIST sets exactly LIST ("none" for no features); +NAME and -NAME items add
 * and remove features, keeping the rest.
 */
function featureChanges(text: string, changes: DatapathChanges): void {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  const relative = items.filter((i) => i.startsWith('+') || i.startsWith('-'));
  if (relative.length && relative.length !== items.length) {
    throw new UsageError(`--features ${text}: either list the features, or add and remove them with +NAME and -NAME, not both`);
  }
  if (!relative.length) {
    changes.features = featureList(text);
    return;
  }
  const add = featureList(items.filter((i) => i.startsWith('+')).map((i) => i.slice(1)).join(','));
  const remove = featureList(items.filter((i) => i.startsWith('-')).map((i) => i.slice(1)).join(','));
  if (add.length) changes.addFeatures = add;
  if (remove.length) changes.removeFeatures = remove;
}

export function define(program: Command, context: () => CliContext): void {
  program
    .command('set-dp')
    .description('change datapath DP: its features, masks cache size, or upcall port ids')
    .argument('<dp>', 'datapath (dp0 or system@dp0)')
    .option('--features <list>', 'the features to have (comma-separated, or none), or +NAME/-NAME changes')
    .option('--masks-cache-size <n>', 'entries of the masks cache (a power of two; 0 turns it off)')
    .option('--per-cpu-pids <list>', 'netlink port ids for upcalls, one per CPU (per-cpu dispatch)')
    .option('--upcall-pid <pid>', 'netlink port id for upcalls of the local port (per-vport dispatch)')
    .option('--json', 'print the datapath as it is afterwards, as JSON')
    .addHelpText('after', '\nFeatures: unaligned, vport_pids, tc_recirc_sharing, dispatch_upcall_per_cpu.\n'
      + 'A running ovs-vswitchd chose its datapath\'s features; changing them under it breaks its upcalls.')
    .action(async (dpArg: string, opts: SetDpOptions) => {
      const name = datapathArg(dpArg);
      const changes: DatapathChanges = {};
      if (opts.features !== undefined) featureChanges(opts.features, changes);
      if (opts.masksCacheSize !== undefined) changes.masksCacheSize = masksCacheSizeArg(opts.masksCacheSize);
      if (opts.perCpuPids !== undefined) changes.perCpuPids = opts.perCpuPids.split(',').map((p) => pidArg(p, 'upcall pid'));
      if (opts.upcallPid !== undefined) changes.upcallPid = pidArg(opts.upcallPid, 'upcall pid');
      if (Object.keys(changes).length === 0) throw new UsageError('set-dp: nothing to change (give --features, --masks-cache-size, --per-cpu-pids or --upcall-pid)');
      const ctx = context();
      const { OvsConnection } = await import('../client/connection.js');
      const { setDatapath } = await import('../client/datapaths.js');
      const conn = new OvsConnection();
      try {
        const dp = await setDatapath(conn, name, changes);
        if (opts.json) ctx.printJSON(dp);
      } finally {
        conn.close();
      }
    });
}
