/**
 * MurmurHash3's 32-bit steps, as OVS's lib/hash.h uses them (mhash_add, mhash_finish):
 * ovs-dpctl's datapath order hashes names with them (src/cli/render/show.ts), and the
 * controller's UFIDs are four lanes of them (src/client/controller.ts).
 */

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** MurmurHash3's scrambling of one 32-bit word, before it joins a hash. */
function scramble(data: number): number {
  return Math.imul(rotl(Math.imul(data, 0xcc9e2d51), 15), 0x1b873593) >>> 0;
}

/** A tail word (the last 1-3 bytes) into `hash`: scrambled and XORed, not mixed. */
export function mhashAddTail(hash: number, data: number): number {
  return (hash ^ scramble(data)) >>> 0;
}

/** One 32-bit word into `hash` (OVS's mhash_add). */
export function mhashAdd(hash: number, data: number): number {
  return (Math.imul(rotl(mhashAddTail(hash, data), 13), 5) + 0xe6546b64) >>> 0;
}

/** The final avalanche (OVS's mhash_finish, without the length: XOR it in first). */
export function mhashFinish(hash: number): number {
  let h = hash;
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
