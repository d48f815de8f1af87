/**
 * `show` and `dump-dps` as ovs-dpctl 3.1 prints them (lib/dpctl.c show_dpif), byte for
 * byte, plus the table and JSON forms. ovs-dpctl's quirks are reproduced on purpose:
 * datapaths come in the order of its internal hash set, a tunnel port's options and
 * statistics come from a fresh userspace netdev (so they reflect the port's name, not the
 * kernel), and a masks cache that has never hit shows no `cache:` line.
 */
import type { Style } from './style.js';
import type { Datapath } from '../../client/datapaths.js';
import type { LinkErrorCounters, Vport } from '../../client/vports.js';
import { mhashAdd, mhashFinish } from '../../ovs/hash.js';
import { dpctlPortType, dpctlTunnelConfig, isDpctlTunnelType } from '../../ovs/vport.js';

export interface ShowPort {
  vport: Vport;
  /** the port's network device's extra counters (system ports, with statistics) */
  link?: LinkErrorCounters;
}

export interface ShowDatapath {
  datapath: Datapath;
  ports: ShowPort[];
}

export interface ShowOptions {
  statistics?: boolean;
  /** an extra `  features:` line (ovs-dpctl has none) */
  features?: boolean;
  style?: Style;
}

/** ovs-dpctl's name for a kernel datapath. */
export function dpctlName(name: string): string {
  return `system@${name}`;
}

// ---------------------------------------------------------------- ovs-dpctl's datapath order

/** OVS's hash_string(s, 0) (lib/hash.c hash_bytes: murmur3 words, little-endian). */
export function ovsHashString(s: string): number {
  const buf = Buffer.from(s);
  let h = 0;
  let i = 0;
  for (; i + 4 <= buf.length; i += 4) h = mhashAdd(h, buf.readUInt32LE(i));
  if (i < buf.length) {
    const tail = Buffer.alloc(4);
    buf.copy(tail, 0, i);
    h = mhashAdd(h, tail.readUInt32LE(0));
  }
  return mhashFinish((h ^ buf.length) >>> 0);
}

/** lib/hmap.c calc_mask(). */
function calcMask(capacity: number): number {
  let mask = Math.floor(capacity / 2);
  for (const shift of [1, 2, 4, 8, 16]) mask |= mask >> shift;
  return mask | ((mask & 1) << 1);
}

/**
 * The order in which ovs-dpctl lists datapaths (dump-dps, show): it puts the kernel's
 * names into an sset, an hmap that inserts at the head of a bucket and grows by
 * rehashing bucket by bucket, and walks it bucket by bucket.
 */
export function dpctlOrder(names: readonly string[]): string[] {
  let mask = 0;
  let buckets: { name: string; hash: number }[][] = [[]];
  let n = 0;
  for (const name of names) {
    const hash = ovsHashString(name);
    buckets[hash & mask]!.unshift({ name, hash });
    n++;
    if (Math.floor(n / 2) > mask && calcMask(n) > mask) {
      mask = calcMask(n);
      const grown: typeof buckets = Array.from({ length: mask + 1 }, () => []);
      for (const bucket of buckets) for (const node of bucket) grown[node.hash & mask]!.unshift(node);
      buckets = grown;
    }
  }
  return buckets.flat().map((node) => node.name);
}

/** Datapaths in the order ovs-dpctl lists them. */
export function inDpctlOrder(dps: readonly Datapath[]): Datapath[] {
  const byName = new Map(dps.map((dp) => [dp.name, dp]));
  return dpctlOrder(dps.map((dp) => dp.name)).map((name) => byName.get(name)!);
}

// ---------------------------------------------------------------- printf

/** C printf's "%.<digits>f" of a double: exact binary value, ties to even (JS rounds ties up). */
export function formatFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const negative = hi >>> 31 === 1;
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  let exponent: number;
  if (biased === 0) exponent = -1074;
  else {
    mantissa |= 1n << 52n;
    exponent = biased - 1075;
  }
  // |x| * 10^digits = mantissa * 2^exponent * 10^digits, rounded half to even.
  let scaled = mantissa * 10n ** BigInt(digits);
  if (exponent >= 0) scaled <<= BigInt(exponent);
  else {
    const divisor = 1n << BigInt(-exponent);
    const q = scaled / divisor;
    const r2 = (scaled % divisor) * 2n;
    scaled = q + (r2 > divisor || (r2 === divisor && q % 2n === 1n) ? 1n : 0n);
  }
  let text = scaled.toString().padStart(digits + 1, '0');
  if (digits > 0) text = `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  return negative ? `-${text}` : text;
}

// ---------------------------------------------------------------- text

const UINT64_MAX = 0xffffffffffffffffn;

/** One port's counters as ovs-dpctl's struct netdev_stats; undefined is its UINT64_MAX ("?"). */
interface NetdevStats {
  rxPackets?: bigint; rxErrors?: bigint; rxDropped?: bigint; rxOverErrors?: bigint; rxFrameErrors?: bigint;
  txPackets?: bigint; txErrors?: bigint; txDropped?: bigint; txAbortedErrors?: bigint; txCarrierErrors?: bigint;
  collisions?: bigint; rxBytes?: bigint; txBytes?: bigint;
}

/**
 * What ovs-dpctl's netdev_get_stats() answers for a port: the vport counters for internal
 * ports, plus the device's error counters for system ports, and for tunnel ports only the
 * zero packet/byte counts of the fresh userspace netdev it opens.
 */
function dpctlStats(port: ShowPort, dpctlType: string): NetdevStats {
  if (isDpctlTunnelType(dpctlType)) return { rxPackets: 0n, txPackets: 0n, rxBytes: 0n, txBytes: 0n };
  const s = port.vport.stats;
  const link = dpctlType === 'system' ? port.link : undefined;
  return {
    rxPackets: s?.rxPackets ?? 0n, rxErrors: s?.rxErrors ?? 0n, rxDropped: s?.rxDropped ?? 0n,
    rxOverErrors: link?.rxOverErrors ?? 0n, rxFrameErrors: link?.rxFrameErrors ?? 0n,
    txPackets: s?.txPackets ?? 0n, txErrors: s?.txErrors ?? 0n, txDropped: s?.txDropped ?? 0n,
    txAbortedErrors: link?.txAbortedErrors ?? 0n, txCarrierErrors: link?.txCarrierErrors ?? 0n,
    collisions: link?.collisions ?? 0n, rxBytes: s?.rxBytes ?? 0n, txBytes: s?.txBytes ?? 0n,
  };
}

function stat(value: bigint | undefined): string {
  return value === undefined || value === UINT64_MAX ? '?' : value.toString();
}

/** ovs-dpctl's print_human_size(): " (1.5 KiB)" from 1 KiB up. */
function humanSize(value: bigint | undefined): string {
  if (value === undefined || value === UINT64_MAX) return '';
  const units: [bigint, string][] = [[1n << 40n, 'TiB'], [1n << 30n, 'GiB'], [1n << 20n, 'MiB'], [1n << 10n, 'KiB']];
  for (const [size, unit] of units) if (value >= size) return ` (${formatFixed(Number(value) / Number(size), 1)} ${unit})`;
  return '';
}

/** The type and options part of a port line: "", " (internal)", " (vxlan: packet_type=ptap)". */
function portSuffix(dpctlType: string, name: string): string {
  if (dpctlType === 'system') return '';
  if (dpctlType === 'unknown') return ' (unknown: open failed (Address family not supported by protocol))';
  const config = dpctlTunnelConfig(dpctlType, name);
  return ` (${dpctlType}${config.map(([k, v], i) => `${i ? ',' : ':'} ${k}=${v}`).join('')})`;
}

function plain(s: string): string {
  return s;
}

/**
 * A datapath's caches as ovs-dpctl lists them (in show and cache-get-size): the masks
 * cache, on kernels that have one (5.9 and later), else nothing.
 */
function cachesText(dp: Datapath): string {
  return dp.masksCacheSize === undefined ? '' : `  caches:\n    masks-cache: size:${dp.masksCacheSize}\n`;
}

/** `ovs-dpctl cache-get-size`'s text: each datapath's name and its caches. */
export function renderCacheSizes(dps: readonly Datapath[], style?: Pick<Style, 'bold'>): string {
  const bold = style?.bold ?? plain;
  return dps.map((dp) => `${bold(dpctlName(dp.name))}:\n${cachesText(dp)}`).join('');
}

/** A datapath's cache sizes for --json (null: a kernel without a masks cache). */
export function cacheSizesJSON(dp: Datapath): { name: string; masksCacheSize: number | null } {
  return { name: dp.name, masksCacheSize: dp.masksCacheSize ?? null };
}

/** One datapath as `ovs-dpctl show [-s]` prints it. */
export function renderShowDatapath(entry: ShowDatapath, options: ShowOptions = {}): string {
  const { datapath: dp } = entry;
  const bold = options.style?.bold ?? plain;
  const dim = options.style?.dim ?? plain;
  let out = `${bold(dpctlName(dp.name))}:\n`;
  if (options.features) out += `  features: ${dp.features.join(',') || '(none)'}\n`;
  const st = dp.stats ?? { hit: 0n, missed: 0n, lost: 0n, flows: 0n };
  out += `  lookups: hit:${st.hit} missed:${st.missed} lost:${st.lost}\n  flows: ${st.flows}\n`;
  if (dp.megaflowStats) {
    const mf = dp.megaflowStats;
    const packets = st.hit + st.missed;
    const perPacket = packets ? Number(mf.maskHit) / Number(packets) : 0;
    out += `  masks: hit:${mf.maskHit} total:${mf.masks} hit/pkt:${formatFixed(perPacket, 2)}\n`;
    // Kernels without a masks cache report 0 hits; ovs-dpctl takes any 0 to mean that.
    if (mf.cacheHit !== 0n) {
      const rate = packets ? (Number(mf.cacheHit) / Number(packets)) * 100 : 0;
      out += `  cache: hit:${mf.cacheHit} hit-rate:${formatFixed(rate, 2)}%\n`;
    }
  }
  out += cachesText(dp);
  const ports = [...entry.ports].sort((a, b) => a.vport.portNo - b.vport.portNo);
  for (const port of ports) {
    const { vport } = port;
    const type = dpctlPortType(vport.type, vport.name);
    out += `  port ${vport.portNo}: ${bold(vport.name)}${dim(portSuffix(type, vport.name))}\n`;
    if (!options.statistics) continue;
    if (type === 'unknown') {
      // ovs-dpctl cannot open the port's netdev: it says so without a newline and goes on.
      out += ', open failed (Address family not supported by protocol)';
      continue;
    }
    const s = dpctlStats(port, type);
    out += `    RX packets:${stat(s.rxPackets)} errors:${stat(s.rxErrors)} dropped:${stat(s.rxDropped)} overruns:${stat(s.rxOverErrors)} frame:${stat(s.rxFrameErrors)}\n`
      + `    TX packets:${stat(s.txPackets)} errors:${stat(s.txErrors)} dropped:${stat(s.txDropped)} aborted:${stat(s.txAbortedErrors)} carrier:${stat(s.txCarrierErrors)}\n`
      + `    collisions:${stat(s.collisions)}\n`
      + `    RX bytes:${stat(s.rxBytes)}${humanSize(s.rxBytes)}  TX bytes:${stat(s.txBytes)}${humanSize(s.txBytes)}\n`;
  }
  return out;
}

/** Several datapaths, in the order given. */
export function renderShow(entries: readonly ShowDatapath[], options: ShowOptions = {}): string {
  return entries.map((e) => renderShowDatapath(e, options)).join('');
}

// ---------------------------------------------------------------- JSON and tables

/** `show --json`: the datapaths with their ports, as the library returns them. */
export function showJSON(entries: readonly ShowDatapath[]): unknown {
  return entries.map(({ datapath, ports }) => ({
    ...datapath,
    ports: [...ports].sort((a, b) => a.vport.portNo - b.vport.portNo).map(({ vport, link }) => (link ? { ...vport, link } : vport)),
  }));
}

export interface TableData {
  head: string[];
  rows: string[][];
}

/** One row per datapath: counters, masks cache and features. */
export function datapathTable(dps: readonly Datapath[]): TableData {
  return {
    head: ['datapath', 'ifindex', 'hit', 'missed', 'lost', 'flows', 'masks', 'masks cache', 'features'],
    rows: dps.map((dp) => [
      dpctlName(dp.name), String(dp.ifindex),
      String(dp.stats?.hit ?? ''), String(dp.stats?.missed ?? ''), String(dp.stats?.lost ?? ''), String(dp.stats?.flows ?? ''),
      String(dp.megaflowStats?.masks ?? ''), String(dp.masksCacheSize ?? ''), dp.features.join(','),
    ]),
  };
}

/** The kernel's options of a port, as key=value (unlike ovs-dpctl's name-derived ones). */
export function kernelOptions(vport: Vport): string {
  const parts: string[] = [];
  if (vport.options?.dstPort !== undefined) parts.push(`dst_port=${vport.options.dstPort}`);
  if (vport.options?.exts?.length) parts.push(`exts=${vport.options.exts.join(',')}`);
  return parts.join(',');
}

/** One row per port; with statistics, the vport's own counters. */
export function portTable(entries: readonly ShowDatapath[], statistics: boolean): TableData {
  const head = ['datapath', 'port', 'name', 'type', 'options', 'upcall pids'];
  if (statistics) head.push('rx packets', 'rx bytes', 'tx packets', 'tx bytes', 'errors rx/tx', 'dropped rx/tx');
  const rows: string[][] = [];
  for (const { datapath, ports } of entries) {
    for (const { vport } of [...ports].sort((a, b) => a.vport.portNo - b.vport.portNo)) {
      const row = [dpctlName(datapath.name), String(vport.portNo), vport.name, dpctlPortType(vport.type, vport.name), kernelOptions(vport), vport.upcallPids.join(',')];
      if (statistics) {
        const s = vport.stats;
        row.push(
          String(s?.rxPackets ?? ''), String(s?.rxBytes ?? ''), String(s?.txPackets ?? ''), String(s?.txBytes ?? ''),
          s ? `${s.rxErrors}/${s.txErrors}` : '', s ? `${s.rxDropped}/${s.txDropped}` : '',
        );
      }
      rows.push(row);
    }
  }
  return { head, rows };
}
