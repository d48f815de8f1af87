/** The ovs_datapath family (linux/openvswitch.h: OVS_DP_*). */
import type { GenlFamilySpec } from '../nl/family.js';
import { defineSet, defineStruct } from '../nl/schema.js';
import { ovsHeader } from './header.js';

export const dpStats = defineStruct('ovs_dp_stats', [
  { name: 'n_hit', type: 'u64' },
  { name: 'n_missed', type: 'u64' },
  { name: 'n_lost', type: 'u64' },
  { name: 'n_flows', type: 'u64' },
]);

export const dpMegaflowStats = defineStruct('ovs_dp_megaflow_stats', [
  { name: 'n_mask_hit', type: 'u64' },
  { name: 'n_masks', type: 'u32' },
  { name: 'pad0', type: 'pad', len: 4 },
  { name: 'n_cache_hit', type: 'u64' },
  { name: 'pad1', type: 'pad', len: 8 },
]);

/** OVS_DP_F_*: what userspace tells the datapath it understands. */
export const DP_FEATURES = {
  unaligned: 1 << 0,
  vport_pids: 1 << 1,
  tc_recirc_sharing: 1 << 2,
  dispatch_upcall_per_cpu: 1 << 3,
} as const;
export type DatapathFeature = keyof typeof DP_FEATURES;

/**
 * A feature bit no kernel has: ovs-dpctl asks for it first, and a kernel that accepts it
 * does not check features at all (older than 5.x), so negotiation cannot be trusted.
 */
export const DP_FEATURE_PROBE = 0x80000000;

/** The names of the bits set in `bits`, in bit order; unknown bits as hex ("0x40"). */
export function featureNames(bits: number): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    const v = 2 ** bit;
    if (Math.floor(bits / v) % 2 !== 1) continue;
    const name = (Object.keys(DP_FEATURES) as DatapathFeature[]).find((n) => DP_FEATURES[n] === v);
    out.push(name ?? `0x${v.toString(16)}`);
  }
  return out;
}

/** The bits of feature names (as featureNames writes them); throws naming an unknown one. */
export function featureBits(names: readonly string[]): number {
  let bits = 0;
  for (const name of names) {
    let v: number | undefined;
    if (Object.hasOwn(DP_FEATURES, name)) v = DP_FEATURES[name as DatapathFeature];
    else if (/^0x[0-9a-f]+$/i.test(name)) v = Number(name);
    if (v === undefined || v === 0 || v > 0xffffffff || (v & (v - 1)) !== 0) {
      throw new RangeError(`unknown datapath feature "${name}" (known: ${Object.keys(DP_FEATURES).join(', ')})`);
    }
    bits = (bits | v) >>> 0;
  }
  return bits;
}

/**
 * The masks cache sizes the kernel takes, for messages. Its netlink policy caps the size
 * at 32 KiB of 8-byte per-CPU entries (PCPU_MIN_UNIT_SIZE, page aligned): 4096 with 4 KiB
 * pages, more with larger pages.
 */
export const MASKS_CACHE_SIZES = 'a power of two up to 4096 on most machines, or 0 to turn the cache off';

export const datapathAttrs = defineSet('ovs_datapath', [
  { id: 1, name: 'name', type: 'string', maxLen: 16 },
  { id: 2, name: 'upcall_pid', type: 'u32' },
  // Kernels before 4.x send only the first fields of the stats structs.
  { id: 3, name: 'stats', type: 'struct', struct: dpStats },
  { id: 4, name: 'megaflow_stats', type: 'struct', struct: dpMegaflowStats, minLen: 16 },
  { id: 5, name: 'user_features', type: 'u32', flags: DP_FEATURES },
  { id: 6, name: 'pad', type: 'pad' },
  { id: 7, name: 'masks_cache_size', type: 'u32' },
  { id: 8, name: 'per_cpu_pids', type: 'array', of: 'u32' },
  { id: 9, name: 'ifindex', type: 'u32' },
]);

export const datapathFamily: GenlFamilySpec = {
  name: 'ovs_datapath',
  version: 2,
  fixedHeader: ovsHeader,
  attrs: datapathAttrs,
  commands: { new: 1, del: 2, get: 3, set: 4 },
  mcastGroups: ['ovs_datapath'],
};
