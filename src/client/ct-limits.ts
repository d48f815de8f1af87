/**
 * Conntrack zone limits (the ovs_ct_limit family): at most how many connections the
 * openvswitch module's ct(commit) may track in a zone. A zone without a limit of its own
 * has the default one; 0 means no limit. The limits belong to the network namespace, not
 * to a datapath. A zone's count is of the connections OVS committed in it while a limit
 * applied (the kernel counts no others: those committed before, or by netfilter itself).
 */
import { describe } from '../nl/codec.js';
import { FamilyNotFoundError } from '../nl/family.js';
import type { GenlMessage } from '../nl/family.js';
import { DEFAULT_ZONE, ctLimitFamily } from '../ovs/ct-limit.js';
import { datapathFamily } from '../ovs/datapath.js';
import type { OvsConnection } from './connection.js';
import { rewrap } from './errors.js';

export interface ZoneLimit {
  zone: number;
  /** at most this many connections (0: no limit) */
  limit: number;
  /** the connections OVS committed in the zone while a limit applied, still tracked */
  count: number;
}

export interface CtLimits {
  /** the limit of every zone without one of its own (0: no limit) */
  defaultLimit: number;
  zones: ZoneLimit[];
}

export interface CtLimitChanges {
  defaultLimit?: number;
  zones?: readonly { zone: number; limit: number }[];
}

/** What a value is, for messages: a number as it is, anything else by its kind. */
function shown(v: unknown): string {
  return typeof v === 'number' ? String(v) : `${describe(v)} (not a number)`;
}

function checkZone(zone: number): number {
  if (!Number.isInteger(zone) || zone < 0 || zone > 0xffff) throw new RangeError(`conntrack zone ${shown(zone)} is no zone: zones are 0 to 65535`);
  return zone;
}

/** `what`: "the default limit", "zone 5's limit". */
function checkLimit(limit: number, what: string): number {
  if (!Number.isInteger(limit) || limit < 0 || limit > 0xffffffff) throw new RangeError(`${what} ${shown(limit)} is no connection count: limits are 0 (none) to 4294967295`);
  return limit;
}

/** One request of the family; a kernel without it is told apart from one without the module. */
async function request(conn: OvsConnection, command: 'get' | 'set' | 'del', entries: { zone_id: number; limit: number }[] | undefined): Promise<GenlMessage[]> {
  try {
    return await conn.request(ctLimitFamily, command, {
      header: { dp_ifindex: 0 },
      ...(entries ? { attrs: { zone_limit: entries.map((e) => ({ ...e, count: 0 })) } } : {}),
    });
  } catch (err) {
    // The connection explains a family it cannot find as a module not loaded; the module
    // registers ovs_ct_limit only when built with conntrack connection counting.
    const missing = err instanceof FamilyNotFoundError ? err : err instanceof Error && err.cause instanceof FamilyNotFoundError ? err.cause : undefined;
    if (missing?.family !== ctLimitFamily.name) throw err;
    const loaded = await conn.family(datapathFamily).then(() => true, () => false);
    if (!loaded) throw err;
    throw rewrap(missing, 'this kernel\'s openvswitch module has no conntrack zone limits (no ovs_ct_limit family: built without CONFIG_NETFILTER_CONNCOUNT)');
  }
}

/**
 * The default limit and the limits of `zones` (each zone's own, or the default it has), with
 * their connection counts; without `zones` (or with none), of every zone that has a limit of
 * its own.
 */
export async function getCtLimits(conn: OvsConnection, zones?: readonly number[]): Promise<CtLimits> {
  // As ovs-dpctl asks: the default first, then the zones (zone_id -1 is the default).
  const entries = zones?.length ? [{ zone_id: DEFAULT_ZONE, limit: 0 }, ...zones.map((z) => ({ zone_id: checkZone(z), limit: 0 }))] : undefined;
  const replies = await request(conn, 'get', entries);
  const out: CtLimits = { defaultLimit: 0, zones: [] };
  for (const reply of replies) {
    for (const e of (reply.attrs['zone_limit'] ?? []) as { zone_id: number; limit: number; count: number }[]) {
      if (e.zone_id === DEFAULT_ZONE) out.defaultLimit = e.limit;
      else out.zones.push({ zone: e.zone_id, limit: e.limit, count: e.count });
    }
  }
  return out;
}

/** Sets the default limit and zones' own limits (the others are left as they are). */
export async function setCtLimits(conn: OvsConnection, changes: CtLimitChanges): Promise<void> {
  const entries: { zone_id: number; limit: number }[] = [];
  if (changes.defaultLimit !== undefined) entries.push({ zone_id: DEFAULT_ZONE, limit: checkLimit(changes.defaultLimit, 'the default limit') });
  for (const z of changes.zones ?? []) entries.push({ zone_id: checkZone(z.zone), limit: checkLimit(z.limit, `zone ${z.zone}'s limit`) });
  if (entries.length === 0) throw new RangeError('no limit to set: give a default limit or zones');
  await request(conn, 'set', entries);
}

/** Removes zones' own limits: they have the default one again. */
export async function deleteCtLimits(conn: OvsConnection, zones: readonly number[]): Promise<void> {
  if (zones.length === 0) throw new RangeError('no zone to delete the limit of');
  await request(conn, 'del', zones.map((z) => ({ zone_id: checkZone(z), limit: 0 })));
}
