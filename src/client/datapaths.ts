/**
 * Datapaths: list, get, create (negotiating features the way ovs-dpctl does), delete and
 * change them. Opening an existing datapath never changes it: a running ovs-vswitchd may
 * own it, and its features (upcall dispatch mode above all) are its business; changing
 * them takes an explicit setDatapath().
 */
import { isErrno, NetlinkError } from '../nl/errors.js';
import type { GenlMessage } from '../nl/family.js';
import { NLM_F_ECHO } from '../nl/message.js';
import { type AttrValues, type UnknownAttr, UNKNOWN_PREFIX } from '../nl/schema.js';
import { DP_FEATURE_PROBE, DP_FEATURES, MASKS_CACHE_SIZES, datapathFamily, featureBits, featureNames } from '../ovs/datapath.js';
import { vportFamily } from '../ovs/vport.js';
import type { OvsConnection, RequestOptions } from './connection.js';
import { rewrap } from './errors.js';

export interface DatapathStats {
  /** packets that matched a flow */
  hit: bigint;
  /** packets that matched no flow (sent up as upcalls) */
  missed: bigint;
  /** upcalls that could not be sent */
  lost: bigint;
  flows: bigint;
}

export interface MegaflowStats {
  /** masks looked at, summed over all packets */
  maskHit: bigint;
  masks: number;
  /** lookups answered by the masks cache (0 on kernels without one) */
  cacheHit: bigint;
}

/** A datapath as the kernel reports it. */
export interface Datapath {
  name: string;
  /** the ifindex of its local port's netdev: the ovs_header of every request names it */
  ifindex: number;
  stats: DatapathStats | undefined;
  megaflowStats: MegaflowStats | undefined;
  /** OVS_DP_F_* names, in bit order */
  features: string[];
  featureBits: number;
  /** undefined when the kernel has no masks cache */
  masksCacheSize: number | undefined;
  /** upcall port ids per CPU (per-cpu dispatch) */
  perCpuPids: number[] | undefined;
  /** attributes this library does not know, kept as the kernel sent them */
  unknown?: Record<string, UnknownAttr>;
}

/** A datapath named, or one already looked up (its ifindex is what requests need). */
export type DatapathRef = string | Pick<Datapath, 'name' | 'ifindex'>;

/** Features of a new datapath or a change: names (as Datapath.features), bits, or "negotiate". */
export type FeatureRequest = readonly string[] | number;

export interface CreateDatapathOptions {
  /** Default: negotiate like ovs-dpctl (per-cpu dispatch where the kernel has it). */
  features?: FeatureRequest | 'negotiate';
  /** Port id for upcalls of the local port (ovs-dpctl: 0). */
  upcallPid?: number;
  masksCacheSize?: number;
  /** ifindex for the local port's netdev (kernel 6.2+); default: the kernel picks. */
  ifindex?: number;
}

export interface DatapathChanges {
  /** The whole new set; see also addFeatures/removeFeatures. */
  features?: FeatureRequest;
  addFeatures?: readonly string[];
  removeFeatures?: readonly string[];
  masksCacheSize?: number;
  perCpuPids?: readonly number[];
  /** Upcall port id of the local port (port 0), for per-vport dispatch. */
  upcallPid?: number;
}

function bitsOf(features: FeatureRequest): number {
  return typeof features === 'number' ? features >>> 0 : featureBits(features);
}

/** A decoded ovs_datapath reply (or notification) as a Datapath. */
export function datapathFromMessage(msg: GenlMessage): Datapath {
  const a = msg.attrs;
  const stats = a['stats'] as Record<string, bigint> | undefined;
  const mf = a['megaflow_stats'] as Record<string, bigint | number> | undefined;
  const bits = (a['user_features'] as number | undefined) ?? 0;
  const dp: Datapath = {
    name: a['name'] as string,
    ifindex: msg.header['dp_ifindex'] as number,
    stats: stats && { hit: stats['n_hit']!, missed: stats['n_missed']!, lost: stats['n_lost']!, flows: stats['n_flows']! },
    megaflowStats: mf && { maskHit: mf['n_mask_hit'] as bigint, masks: mf['n_masks'] as number, cacheHit: (mf['n_cache_hit'] as bigint | undefined) ?? 0n },
    features: featureNames(bits),
    featureBits: bits,
    masksCacheSize: a['masks_cache_size'] as number | undefined,
    perCpuPids: a['per_cpu_pids'] as number[] | undefined,
  };
  const unknown = unknownAttrs(a, msg.unknownKept);
  if (unknown) dp.unknown = unknown;
  return dp;
}

const UNKNOWN_CHAR = UNKNOWN_PREFIX.charCodeAt(0);

/**
 * The attributes of `attrs` that the schema did not know, or undefined when none.
 * `unknownKept` is the decoded message's own (GenlMessage.unknownKept): false, and the
 * attributes are not looked at.
 */
export function unknownAttrs(attrs: AttrValues, unknownKept?: boolean): Record<string, UnknownAttr> | undefined {
  // Runs on every dumped flow: its for-in costs ~25 ns a flow, hence the codec's word first.
  if (unknownKept === false) return undefined;
  let out: Record<string, UnknownAttr> | undefined;
  for (const k in attrs) if (k.charCodeAt(0) === UNKNOWN_CHAR) (out ??= {})[k] = attrs[k] as UnknownAttr;
  return out;
}

async function one(conn: OvsConnection, command: string, options: RequestOptions): Promise<Datapath> {
  const replies = await conn.request(datapathFamily, command, options);
  if (!replies[0]) throw new Error(`ovs_datapath ${command} got no reply`);
  return datapathFromMessage(replies[0]);
}

/** Every datapath in this network namespace, in the kernel's order (creation order). */
export async function listDatapaths(conn: OvsConnection): Promise<Datapath[]> {
  const out: Datapath[] = [];
  for await (const msg of conn.dump(datapathFamily, 'get')) out.push(datapathFromMessage(msg));
  return out;
}

/** One datapath, by name or by the ifindex of its local port. Only reads: nothing changes. */
export async function getDatapath(conn: OvsConnection, dp: string | { ifindex: number }): Promise<Datapath> {
  // upcall_pid 0 as ovs-dpctl sends it (one request struct for every datapath command):
  // a GET ignores it, and the request is then byte for byte ovs-dpctl's.
  if (typeof dp === 'string') return one(conn, 'get', { attrs: { name: dp, upcall_pid: 0 }, context: { datapath: dp } });
  return one(conn, 'get', { header: { dp_ifindex: dp.ifindex }, context: { datapath: `with ifindex ${dp.ifindex}` } });
}

/** The datapath a reference names, looked up when only the name is known. */
export async function resolveDatapath(conn: OvsConnection, dp: DatapathRef): Promise<Pick<Datapath, 'name' | 'ifindex'>> {
  return typeof dp === 'string' ? getDatapath(conn, dp) : dp;
}

/**
 * Creates a datapath. By default its features are negotiated as ovs-dpctl 3.1 does:
 * ask for a feature no kernel has (a kernel that accepts it checks nothing, so fall back
 * to unaligned + vport_pids), then per-cpu upcall dispatch, then per-vport dispatch where
 * the kernel lacks per-cpu, and finally tc_recirc_sharing, kept only if the kernel has it.
 */
export async function createDatapath(conn: OvsConnection, name: string, options: CreateDatapathOptions = {}): Promise<Datapath> {
  const base: AttrValues = { name, upcall_pid: options.upcallPid ?? 0 };
  const extra: AttrValues = {};
  if (options.masksCacheSize !== undefined) extra['masks_cache_size'] = options.masksCacheSize;
  if (options.ifindex !== undefined) extra['ifindex'] = options.ifindex;
  const create = async (features: number): Promise<Datapath> => {
    try {
      return await one(conn, 'new', { flags: NLM_F_ECHO, attrs: { ...base, user_features: features, ...extra }, context: { datapath: name } });
    } catch (err) {
      if (!isErrno(err, 'EEXIST') || (await getDatapath(conn, name).then(() => true, () => false))) throw masksCacheRefusal(err, options.masksCacheSize);
      throw rewrap(err as NetlinkError, `a network device named ${name} already exists (a datapath's local port takes the datapath's name)`);
    }
  };
  const features = options.features ?? 'negotiate';
  if (features !== 'negotiate') return create(bitsOf(features));

  const { unaligned, vport_pids, dispatch_upcall_per_cpu, tc_recirc_sharing } = DP_FEATURES;
  let checksFeatures = false;
  try {
    await create((unaligned | vport_pids | DP_FEATURE_PROBE) >>> 0);
  } catch (err) {
    if (!isErrno(err, 'EOPNOTSUPP')) throw err;
    checksFeatures = true;
  }
  if (!checksFeatures) {
    // The kernel took an impossible feature: it does not check them. Use the classic pair.
    return one(conn, 'set', { flags: NLM_F_ECHO, attrs: { ...base, user_features: unaligned | vport_pids }, context: { datapath: name } });
  }
  let dp: Datapath;
  try {
    dp = await create(unaligned | dispatch_upcall_per_cpu);
  } catch (err) {
    if (!isErrno(err, 'EOPNOTSUPP')) throw err;
    dp = await create(unaligned | vport_pids);
  }
  try {
    return await one(conn, 'set', {
      flags: NLM_F_ECHO,
      header: { dp_ifindex: dp.ifindex },
      attrs: { name, user_features: (dp.featureBits | tc_recirc_sharing) >>> 0 },
      context: { datapath: name },
    });
  } catch (err) {
    // Kernels without tc skb extensions refuse it; the datapath works without.
    if (isErrno(err, 'EOPNOTSUPP')) return dp;
    throw err;
  }
}

/**
 * Deletes a datapath and all its ports. Like ovs-dpctl, by the ifindex of the datapath it
 * looked up (ovs_header only, no attributes), so a name is resolved first.
 */
export async function deleteDatapath(conn: OvsConnection, dp: DatapathRef): Promise<void> {
  const { name, ifindex } = await resolveDatapath(conn, dp);
  await conn.request(datapathFamily, 'del', { header: { dp_ifindex: ifindex }, context: { datapath: name } });
}

/**
 * Changes a datapath's features, masks cache size or per-CPU upcall port ids. Every
 * request carries the features (the kernel resets those a SET leaves out to none), so the
 * current ones are read first unless `features` gives the whole new set.
 */
export async function setDatapath(conn: OvsConnection, dp: DatapathRef, changes: DatapathChanges): Promise<Datapath> {
  const name = typeof dp === 'string' ? dp : dp.name;
  const { upcallPid, ...dpChanges } = changes;
  let result: Datapath = Object.values(dpChanges).some((v) => v !== undefined)
    ? await setDatapathAttrs(conn, name, dpChanges)
    : await getDatapath(conn, name);
  if (upcallPid !== undefined) {
    // The kernel reads OVS_DP_ATTR_UPCALL_PID only when creating: the local port has it.
    await conn.request(vportFamily, 'set', {
      header: { dp_ifindex: result.ifindex }, attrs: { port_no: 0, upcall_pid: [upcallPid] }, context: { datapath: name },
    });
    result = await getDatapath(conn, name);
  }
  return result;
}

async function setDatapathAttrs(conn: OvsConnection, name: string, changes: Omit<DatapathChanges, 'upcallPid'>): Promise<Datapath> {
  let bits: number;
  if (changes.features !== undefined) bits = bitsOf(changes.features);
  else bits = (await getDatapath(conn, name)).featureBits;
  if (changes.addFeatures) bits = (bits | featureBits(changes.addFeatures)) >>> 0;
  if (changes.removeFeatures) bits = (bits & ~featureBits(changes.removeFeatures)) >>> 0;
  const attrs: AttrValues = { name, user_features: bits };
  if (changes.masksCacheSize !== undefined) attrs['masks_cache_size'] = changes.masksCacheSize;
  if (changes.perCpuPids !== undefined) attrs['per_cpu_pids'] = [...changes.perCpuPids];
  try {
    return await one(conn, 'set', { flags: NLM_F_ECHO, attrs, context: { datapath: name } });
  } catch (err) {
    if (isErrno(err, 'EOPNOTSUPP')) throw rewrap(err as NetlinkError, `the kernel does not support datapath features ${featureNames(bits).join(',') || '(none)'}`);
    throw masksCacheRefusal(err, changes.masksCacheSize);
  }
}

/**
 * The kernel's refusal of a masks cache size, explained: its netlink policy answers a size
 * above its cap with ERANGE, and resizing answers one that is no power of two with EINVAL.
 */
function masksCacheRefusal(err: unknown, size: number | undefined): unknown {
  if (size === undefined || !(isErrno(err, 'EINVAL') || isErrno(err, 'ERANGE'))) return err;
  return rewrap(err as NetlinkError, `the kernel refused masks cache size ${size} (it takes ${MASKS_CACHE_SIZES})`);
}
