/**
 * The arguments of ct-set-limits, ct-get-limits and ct-del-limits, in ovs-dpctl's syntax:
 * an optional datapath first (a word without "="), then `default=L`, `zone=N,limit=L`
 * tuples, or a `zone=N1[,N2...]` list.
 */
import type { OvsConnection } from '../client/connection.js';
import { UsageError } from './context.js';
import { datapathArg, unsignedArg } from './dp-args.js';

/** The optional DP first argument (ovs-dpctl: the first word without "="), and the rest. */
export function splitDatapath(args: readonly string[]): { dp: string | undefined; rest: string[] } {
  if (args.length > 0 && !args[0]!.includes('=')) return { dp: datapathArg(args[0]!), rest: args.slice(1) };
  return { dp: undefined, rest: [...args] };
}

/** `zone=N,limit=L` (in either order). */
export function zoneLimitArg(arg: string): { zone: number; limit: number } {
  let zone: number | undefined;
  let limit: number | undefined;
  for (const item of arg.split(',')) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? '' : item.slice(eq + 1);
    if (key === 'zone') zone = unsignedArg(value, 0xffff, 'zone', arg);
    else if (key === 'limit') limit = unsignedArg(value, 0xffffffff, 'limit', arg);
    else throw new UsageError(`"${arg}": expected zone=N,limit=L, found "${item}"`);
  }
  if (zone === undefined || limit === undefined) throw new UsageError(`"${arg}": expected zone=N,limit=L (both)`);
  return { zone, limit };
}

/** `default=L`. */
export function defaultLimitArg(arg: string): number {
  return unsignedArg(arg.slice('default='.length), 0xffffffff, 'default limit', arg);
}

/** `zone=N1[,N2...]`. */
export function zoneListArg(arg: string): number[] {
  if (!arg.startsWith('zone=')) throw new UsageError(`"${arg}": expected zone=N1[,N2...]`);
  return arg.slice('zone='.length).split(',').map((z) => unsignedArg(z, 0xffff, 'zone', arg));
}

/**
 * Runs `fn` on a connection of its own, after checking that DP exists when it is given (as
 * ovs-dpctl opens it; the limits themselves are the network namespace's, whatever the
 * datapath), and closes it.
 */
export async function withLimitsConnection<T>(dp: string | undefined, fn: (conn: OvsConnection) => Promise<T>): Promise<T> {
  const { OvsConnection } = await import('../client/connection.js');
  const conn = new OvsConnection();
  try {
    if (dp !== undefined) {
      const { getDatapath } = await import('../client/datapaths.js');
      await getDatapath(conn, dp);
    }
    return await fn(conn);
  } finally {
    conn.close();
  }
}

/** The help text the three commands share. */
export const CT_LIMITS_HELP = `
Conntrack zone limits cap how many connections ct(commit,zone=N) may track in zone N;
a zone without a limit of its own has the default one, and 0 means no limit. A zone's
count is of the connections OVS committed in it while a limit applied: the kernel counts
no others. The limits belong to the network namespace, not to a datapath: DP, when
given, is only checked to exist (ovs-dpctl needs one to open).`;
