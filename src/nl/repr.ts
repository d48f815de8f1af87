/** Text forms of addresses, as the C library's inet_ntop/inet_pton write and read them. */

export function formatIPv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * Parses dotted-quad IPv4 as inet_pton does (four decimal parts up to 255, no leading
 * zeros: "010.0.0.1" is refused, some tools read it as octal); returns undefined for
 * anything else. A loop over the characters, not a regular expression: flow encoding
 * parses several addresses per flow.
 */
export function parseIPv4(s: string): number | undefined {
  const n = s.length;
  if (n < 7 || n > 15) return undefined;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || dots === 3) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
      continue;
    }
    const d = c - 0x30;
    if (d < 0 || d > 9 || (digits > 0 && part === 0) || (part = part * 10 + d) > 255) return undefined;
    digits++;
  }
  return dots === 3 && digits > 0 ? value * 256 + part : undefined;
}

/** Two lower-case hex digits for every byte value. */
const HEX_PAIRS: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function formatMac(b: Uint8Array, offset = 0): string {
  return `${HEX_PAIRS[b[offset]!]}:${HEX_PAIRS[b[offset + 1]!]}:${HEX_PAIRS[b[offset + 2]!]}:${HEX_PAIRS[b[offset + 3]!]}:${HEX_PAIRS[b[offset + 4]!]}:${HEX_PAIRS[b[offset + 5]!]}`;
}

/** Hex digit values by character code (-1: not a hex digit). */
const HEX_VALUES = Int8Array.from({ length: 128 }, (_, c) => {
  const ch = String.fromCharCode(c);
  return /[0-9a-fA-F]/.test(ch) ? parseInt(ch, 16) : -1;
});

function hexValue(c: number): number {
  return c < 128 ? HEX_VALUES[c]! : -1;
}

/**
 * Parses MAC text (six groups of one or two hex digits, colon-separated) into 6 bytes of
 * `buf` at `offset`; false, with those bytes undefined, for anything else.
 */
export function parseMacInto(s: string, buf: Uint8Array, offset: number): boolean {
  const n = s.length;
  if (n < 11 || n > 17) return false;
  let i = 0;
  for (let k = 0; k < 6; k++) {
    if (k > 0 && s.charCodeAt(i++) !== 0x3a) return false;
    let v = hexValue(s.charCodeAt(i++));
    if (v < 0) return false;
    const low = i < n ? hexValue(s.charCodeAt(i)) : -1;
    if (low >= 0) {
      v = v * 16 + low;
      i++;
    }
    buf[offset + k] = v;
  }
  return i === n;
}

export function parseMac(s: string): Buffer | undefined {
  const b = Buffer.allocUnsafe(6);
  return parseMacInto(s, b, 0) ? b : undefined;
}

/** inet_ntop(AF_INET6): longest run of two or more zero words becomes "::"; v4-mapped in dotted form. */
export function formatIPv6(b: Uint8Array, offset = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[offset + 2 * i]! << 8) | b[offset + 2 * i + 1]!);
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { bestBase = i; bestLen = j - i; }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += `${b[offset + 12]}.${b[offset + 13]}.${b[offset + 14]}.${b[offset + 15]}`;
      return out;
    }
    out += words[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

/** inet_pton(AF_INET6); returns undefined for invalid text. */
export function parseIPv6(s: string): Buffer | undefined {
  let text = s;
  const lastColon = s.lastIndexOf(':');
  if (lastColon < 0) return undefined;
  if (s.includes('.', lastColon)) {
    // An embedded IPv4 tail stands for the last two words.
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    text = `${s.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parseWords = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const w of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(w)) return undefined;
      out.push(parseInt(w, 16));
    }
    return out;
  };
  const head = parseWords(halves[0]!);
  const tail = halves.length === 2 ? parseWords(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const buf = Buffer.alloc(16);
  [...head, ...new Array<number>(fill).fill(0), ...tail].forEach((w, i) => buf.writeUInt16BE(w, 2 * i));
  return buf;
}
