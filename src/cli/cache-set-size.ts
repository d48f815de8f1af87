/** `ovsdp cache-set-size DP CACHE SIZE`: resize a datapath's cache, as ovs-dpctl does. */
import type { Command } from 'commander';
import { type CliContext, UsageError } from './context.js';
import { datapathArg } from './dp-args.js';

interface CacheSetSizeOptions {
  json?: boolean;
}

/** The caches a kernel datapath has, by ovs-dpctl's names. */
const CACHES = ['masks-cache'];

/**
 * SIZE rounded up to a power of two, as ovs-dpctl rounds it before asking the kernel
 * (which takes nothing else). ovs-dpctl reads "12abc" as 12 and wraps 4294967296 to 0 (the
 * cache off); both are refused here. How large is the kernel's to say: 4096 entries with
 * 4 KiB pages, more with larger ones.
 */
export function cacheSizeArg(text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`bad cache size "${text}" (a number of entries, rounded up to a power of two; 4096 at most on most machines; 0 turns the cache off)`);
  const size = Number(text);
  // Beyond 2^31 the power of two above would not fit the kernel's 32 bits.
  if (size > 2 ** 31) throw new UsageError(`cache size ${text} is too large (4096 entries at most on most machines)`);
  return size === 0 ? 0 : 2 ** Math.ceil(Math.log2(size));
}

export function define(program: Command, context: () => CliContext): void {
  program
    .command('cache-set-size')
    .description('set the size of cache CACHE (masks-cache) of datapath DP to SIZE entries, rounded up to a power of two')
    .argument('<dp>', 'datapath (dp0 or system@dp0)')
    .argument('<cache>', `the cache: ${CACHES.join(', ')}`)
    .argument('<size>', 'entries (rounded up to a power of two; 4096 at most on most machines; 0 turns the cache off)')
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
      const { NetlinkError } = await import('../nl/errors.js');
      const { rewrap } = await import('../client/errors.js');
      const conn = new OvsConnection();
      try {
        let dp;
        try {
          dp = await setDatapath(conn, name, { masksCacheSize: size });
        } catch (err) {
          if (size === Number(sizeText) || !(err instanceof NetlinkError)) throw err;
          throw rewrap(err, `${err.message}; ${sizeText} was rounded up to ${size}, as ovs-dpctl rounds it`);
        }
        // A kernel before 5.9 has no masks cache: it ignores the size, and says nothing.
        if (dp.masksCacheSize === undefined) throw new Error(`datapath ${dp.name} has no masks cache (Linux 5.9 and later have one)`);
        if (opts.json) return ctx.printJSON(cacheSizesJSON(dp));
        ctx.print(`Setting cache size successful, new size ${dp.masksCacheSize}`);
      } finally {
        conn.close();
      }
    });
}
