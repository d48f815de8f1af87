/** `ovsdp cache-set-size DP CACHE SIZE`: resize a datapath's cache, as ovs-dpctl does. */
import type { Command } from 'commander';
import { type CliContext, UsageError } from './context.js';
import { datapathArg } from './dp-args.js';

interface CacheSetSizeOptions {
  json?: boolean;
}

/** The caches a kernel datapath has, by ovs-dpctl's names. */
const CACHES = ['masks-cache'];

/** The most entries a kernel masks cache takes (32 KiB of per-CPU entries of 8 bytes). */
const MAX_MASKS_CACHE = 4096;

/**
 * SIZE rounded up to a power of two, as ovs-dpctl rounds it before asking the kernel
 * (which takes nothing else). ovs-dpctl reads "12abc" as 12 and wraps 4294967296 to 0 (the
 * cache off), and sends what the kernel refuses (ERANGE); all are refused here.
 */
export function cacheSizeArg(text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`bad cache size "${text}" (a number of entries up to ${MAX_MASKS_CACHE}, rounded up to a power of two; 0 turns the cache off)`);
  const size = Number(text);
  const rounded = size === 0 ? 0 : 2 ** Math.ceil(Math.log2(size));
  if (rounded > MAX_MASKS_CACHE) {
    throw new UsageError(`cache size ${text}${rounded !== size && rounded <= 2 ** 32 ? ` (rounded up: ${rounded})` : ''} is too large: the kernel takes up to ${MAX_MASKS_CACHE} entries`);
  }
  return rounded;
}

export function define(program: Command, context: () => CliContext): void {
  program
    .command('cache-set-size')
    .description('set the size of cache CACHE (masks-cache) of datapath DP to SIZE entries, rounded up to a power of two')
    .argument('<dp>', 'datapath (dp0 or system@dp0)')
    .argument('<cache>', `the cache: ${CACHES.join(', ')}`)
    .argument('<size>', `entries (rounded up to a power of two; at most ${MAX_MASKS_CACHE}; 0 turns the cache off)`)
    .option('--json', 'print {"name", "masksCacheSize"} as it is afterwards')
    .addHelpText('after', `
Example:
  ovsdp cache-set-size dp0 masks-cache 512
  ovsdp cache-get-size dp0

The datapath's features are kept (ovs-dpctl 3.1 resets them to those it negotiated).
set-dp --masks-cache-size N does the same without rounding (the kernel refuses a size
that is no power of two).`)
    .action(async (dpArg: string, cache: string, sizeText: string, opts: CacheSetSizeOptions) => {
      const name = datapathArg(dpArg);
      if (!CACHES.includes(cache)) throw new UsageError(`no cache named "${cache}" (a kernel datapath has one: ${CACHES.join(', ')})`);
      const size = cacheSizeArg(sizeText);
      const ctx = context();
      const { OvsConnection } = await import('../client/connection.js');
      const { setDatapath } = await import('../client/datapaths.js');
      const { cacheSizesJSON } = await import('./render/show.js');
      const conn = new OvsConnection();
      try {
        const dp = await setDatapath(conn, name, { masksCacheSize: size });
        if (opts.json) return ctx.printJSON(cacheSizesJSON(dp));
        ctx.print(`Setting cache size successful, new size ${dp.masksCacheSize ?? size}`);
      } finally {
        conn.close();
      }
    });
}
