/**
 * A table of UFIDs (a flow's 16-byte unique id) with a number each, held in typed arrays:
 * no object, string or boxed number per entry. The controller keeps in one when each flow
 * it installed was installed, and in another which megaflows a batch of upcalls puts.
 * Keyed by each UFID's hex string in a Map, that cost a native call and a string per miss,
 * strings that piled up in V8's old generation (one per installed flow) until a full
 * collection, in the middle of a burst of misses.
 *
 * Open addressing with linear probing, at most half full. A UFID is a hash already (the
 * controller's are MurmurHash3 lanes, ovs-vswitchd's too), so its first word picks the slot.
 */

/** Bytes in a UFID. */
export const UFID_LEN = 16;

/**
 * The 32-bit word of `b` at `off`, little-endian, as a signed number (any order would do
 * here, both sides using this; the controller's UFID hash reads its words with it too).
 */
export function wordAt(b: Uint8Array, off: number): number {
  return b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24);
}

export class UfidTable {
  /** Each slot's UFID as four words, slot i at 4 * i. */
  private words: Int32Array;
  private values: Float64Array;
  /** 1 where a slot holds a UFID. */
  private used: Uint8Array;
  /** Slots - 1 (slots are a power of two). */
  private mask: number;
  private count = 0;

  /** Room for `expected` UFIDs before the table first grows. */
  constructor(expected = 32) {
    let slots = 16;
    while (slots < 2 * expected) slots *= 2;
    this.words = new Int32Array(4 * slots);
    this.values = new Float64Array(slots);
    this.used = new Uint8Array(slots);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.count;
  }

  /** The number kept for `ufid` (16 bytes at `off`), or undefined. */
  get(ufid: Uint8Array, off = 0): number | undefined {
    const slot = this.find(ufid, off);
    return slot < 0 ? undefined : this.values[slot];
  }

  has(ufid: Uint8Array, off = 0): boolean {
    return this.find(ufid, off) >= 0;
  }

  /** Keeps `value` for `ufid` (16 bytes at `off`); returns whether the UFID was new. */
  set(ufid: Uint8Array, value: number, off = 0): boolean {
    const slot = this.find(ufid, off);
    if (slot >= 0) {
      this.values[slot] = value;
      return false;
    }
    if (2 * (this.count + 1) > this.mask + 1) {
      this.rebuild(this.mask + 1);
      return this.set(ufid, value, off);
    }
    this.put(~slot, wordAt(ufid, off), wordAt(ufid, off + 4), wordAt(ufid, off + 8), wordAt(ufid, off + 12), value);
    return true;
  }

  /** Empties the table, keeping its room. */
  clear(): void {
    if (this.count === 0) return;
    this.used.fill(0);
    this.count = 0;
  }

  /** Removes `ufid`; returns whether it was there. */
  delete(ufid: Uint8Array, off = 0): boolean {
    const slot = this.find(ufid, off);
    if (slot < 0) return false;
    this.count--;
    // Linear probing's deletion: each later entry of the run that may sit in the hole
    // (its home slot is not between the hole and it) moves back into it.
    const { words: w, used, mask } = this;
    let hole = slot;
    for (let j = (hole + 1) & mask; used[j]; j = (j + 1) & mask) {
      const home = w[4 * j]! & mask;
      if (((j - home) & mask) < ((j - hole) & mask)) continue;
      w.copyWithin(4 * hole, 4 * j, 4 * j + 4);
      this.values[hole] = this.values[j]!;
      hole = j;
    }
    used[hole] = 0;
    return true;
  }

  /**
   * Keeps only the entries for which keep(ufid, value) is true. `ufid` is a view of 16
   * bytes valid during the call only.
   */
  retain(keep: (ufid: Buffer, value: number) => boolean): void {
    this.rebuild(this.count, keep);
  }

  /** The slot holding the UFID at ufid[off], or ~(the empty slot where it would go). */
  private find(ufid: Uint8Array, off: number): number {
    if (off < 0 || off + UFID_LEN > ufid.length) throw new RangeError(`no ${UFID_LEN}-byte UFID at offset ${off} of ${ufid.length} bytes`);
    const w0 = wordAt(ufid, off);
    const w1 = wordAt(ufid, off + 4);
    const w2 = wordAt(ufid, off + 8);
    const w3 = wordAt(ufid, off + 12);
    const { words: w, used, mask } = this;
    for (let i = w0 & mask; ; i = (i + 1) & mask) {
      if (!used[i]) return ~i;
      const k = 4 * i;
      if (w[k] === w0 && w[k + 1] === w1 && w[k + 2] === w2 && w[k + 3] === w3) return i;
    }
  }

  /** Fills the empty slot `at`. */
  private put(at: number, w0: number, w1: number, w2: number, w3: number, value: number): void {
    const w = this.words;
    w[4 * at] = w0;
    w[4 * at + 1] = w1;
    w[4 * at + 2] = w2;
    w[4 * at + 3] = w3;
    this.values[at] = value;
    this.used[at] = 1;
    this.count++;
  }

  /**
   * Moves the entries that `keep` keeps (all without it) into new arrays with room for
   * `expected`, word by word (a bigger table's growth: no bytes made per entry).
   */
  private rebuild(expected: number, keep?: (ufid: Buffer, value: number) => boolean): void {
    const { words, values, used } = this;
    const ufid = keep ? Buffer.alloc(UFID_LEN) : undefined;
    const next = new UfidTable(expected);
    const mask = next.mask;
    for (let i = 0; i < used.length; i++) {
      if (!used[i]) continue;
      const w0 = words[4 * i]!;
      const w1 = words[4 * i + 1]!;
      const w2 = words[4 * i + 2]!;
      const w3 = words[4 * i + 3]!;
      if (ufid) {
        ufid.writeInt32LE(w0, 0);
        ufid.writeInt32LE(w1, 4);
        ufid.writeInt32LE(w2, 8);
        ufid.writeInt32LE(w3, 12);
        if (!keep!(ufid, values[i]!)) continue;
      }
      // Every UFID here is distinct: the first empty slot from its home is its place.
      let at = w0 & mask;
      while (next.used[at]) at = (at + 1) & mask;
      next.put(at, w0, w1, w2, w3, values[i]!);
    }
    this.words = next.words;
    this.values = next.values;
    this.used = next.used;
    this.mask = next.mask;
    this.count = next.count;
  }
}
