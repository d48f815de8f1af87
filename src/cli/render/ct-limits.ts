/** `ct-get-limits` output: ovs-dpctl's text. */
import type { CtLimits } from '../../client/ct-limits.js';

/** "default limit=N", then "zone=Z,limit=L,count=C" per zone, as ovs-dpctl prints them. */
export function renderCtLimits(limits: CtLimits): string {
  return [`default limit=${limits.defaultLimit}`, ...limits.zones.map((z) => `zone=${z.zone},limit=${z.limit},count=${z.count}`)].join('\n');
}
