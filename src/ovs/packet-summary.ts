/**
 * A one-line summary of an Ethernet frame, for people watching upcalls:
 *   eth 02:00:00:00:00:01->02:00:00:00:00:02 ipv4 10.1.1.1->10.1.1.2 icmp echo-request
 *   eth ... vlan 10 ipv4 10.0.0.1->10.0.0.2 tcp 1234->80 [S]
 *   eth ... arp who-has 10.0.0.2 tell 10.0.0.1
 * Headers are read as far as the bytes go; a frame cut short ends in "(truncated)".
 * Pure: no sockets, never throws on any input.
 */
import { formatIPv4, formatIPv6, formatMac } from '../nl/repr.js';
import { formatTcpFlagLetters } from './flowstr/flow.js';

const ICMP_TYPES: Readonly<Record<number, string>> = {
  0: 'echo-reply', 3: 'dest-unreachable', 4: 'source-quench', 5: 'redirect', 8: 'echo-request',
  9: 'router-advertisement', 10: 'router-solicitation', 11: 'time-exceeded', 12: 'parameter-problem',
  13: 'timestamp', 14: 'timestamp-reply',
};

const ICMPV6_TYPES: Readonly<Record<number, string>> = {
  1: 'dest-unreachable', 2: 'packet-too-big', 3: 'time-exceeded', 4: 'parameter-problem',
  128: 'echo-request', 129: 'echo-reply', 130: 'mld-query', 131: 'mld-report', 132: 'mld-done',
  133: 'router-solicitation', 134: 'router-advertisement', 135: 'neighbor-solicitation',
  136: 'neighbor-advertisement', 137: 'redirect', 143: 'mld2-report',
};

/** IPv6 extension headers that have the generic (next header, length) layout. */
const IPV6_EXT_HEADERS = new Set([0, 43, 60]);
const IPV6_FRAGMENT = 44;

class Truncated extends Error {}

/** A bounds-checked reader over the frame. */
class Frame {
  constructor(readonly buf: Buffer) {}
  need(off: number, len: number): void {
    if (off + len > this.buf.length) throw new Truncated();
  }
  u8(off: number): number {
    this.need(off, 1);
    return this.buf[off]!;
  }
  u16(off: number): number {
    this.need(off, 2);
    return this.buf.readUInt16BE(off);
  }
  u32(off: number): number {
    this.need(off, 4);
    return this.buf.readUInt32BE(off);
  }
  mac(off: number): string {
    this.need(off, 6);
    return formatMac(this.buf, off);
  }
  ipv4(off: number): string {
    return formatIPv4(this.u32(off));
  }
  ipv6(off: number): string {
    this.need(off, 16);
    return formatIPv6(this.buf, off);
  }
}

function hex4(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`;
}

function l4(f: Frame, proto: number, off: number, v6: boolean, out: string[]): void {
  switch (proto) {
    case 6: {
      out.push('tcp');
      out.push(`${f.u16(off)}->${f.u16(off + 2)}`);
      const flags = f.u16(off + 12) & 0x1ff;
      out.push(`[${formatTcpFlagLetters(flags)}]`);
      return;
    }
    case 17:
    case 132:
      out.push(proto === 17 ? 'udp' : 'sctp');
      out.push(`${f.u16(off)}->${f.u16(off + 2)}`);
      return;
    case 1:
    case 58: {
      out.push(proto === 1 ? 'icmp' : 'icmpv6');
      const type = f.u8(off);
      const code = f.u8(off + 1);
      const name = (proto === 1 ? ICMP_TYPES : ICMPV6_TYPES)[type];
      out.push(name ?? `type ${type}`);
      if (!name || (code !== 0 && type !== 8 && type !== 128)) out.push(`code ${code}`);
      if (v6 && (type === 135 || type === 136)) out.push(f.ipv6(off + 8));
      return;
    }
    default:
      out.push(`proto ${proto}`);
  }
}

function ipv4(f: Frame, off: number, out: string[]): void {
  out.push('ipv4');
  const vihl = f.u8(off);
  const ihl = (vihl & 0x0f) * 4;
  out.push(`${f.ipv4(off + 12)}->${f.ipv4(off + 16)}`);
  const fragWord = f.u16(off + 6);
  const fragOffset = (fragWord & 0x1fff) * 8;
  const more = (fragWord & 0x2000) !== 0;
  const proto = f.u8(off + 9);
  if (fragOffset > 0) {
    out.push(`frag off ${fragOffset}`, `proto ${proto}`);
    return;
  }
  if (more) out.push('frag first');
  if (vihl >> 4 !== 4 || ihl < 20) {
    out.push(`bad header (version ${vihl >> 4}, ihl ${ihl})`);
    return;
  }
  l4(f, proto, off + ihl, false, out);
}

function ipv6(f: Frame, off: number, out: string[]): void {
  out.push('ipv6');
  out.push(`${f.ipv6(off + 8)}->${f.ipv6(off + 24)}`);
  let next = f.u8(off + 6);
  let p = off + 40;
  for (let hops = 0; hops < 8; hops++) {
    if (IPV6_EXT_HEADERS.has(next)) {
      const len = (f.u8(p + 1) + 1) * 8;
      next = f.u8(p);
      p += len;
      continue;
    }
    if (next === IPV6_FRAGMENT) {
      const fragOffset = f.u16(p + 2) & 0xfff8;
      const nh = f.u8(p);
      if (fragOffset > 0) {
        out.push(`frag off ${fragOffset}`, `proto ${nh}`);
        return;
      }
      out.push('frag first');
      next = nh;
      p += 8;
      continue;
    }
    break;
  }
  l4(f, next, p, true, out);
}

function arp(f: Frame, off: number, out: string[]): void {
  out.push('arp');
  const op = f.u16(off + 6);
  const sha = f.mac(off + 8);
  const spa = f.ipv4(off + 14);
  const tpa = f.ipv4(off + 24);
  if (op === 1) out.push(`who-has ${tpa} tell ${spa}`);
  else if (op === 2) out.push(`reply ${spa} is-at ${sha}`);
  else out.push(`op ${op} ${spa}->${tpa}`);
}

/** The summary of an Ethernet frame (see above). */
export function summarizePacket(packet: Buffer): string {
  const f = new Frame(packet);
  const out: string[] = [];
  try {
    out.push('eth');
    out.push(`${f.mac(6)}->${f.mac(0)}`);
    let off = 12;
    let type = f.u16(off);
    while (type === 0x8100 || type === 0x88a8) {
      const tci = f.u16(off + 2);
      const pcp = tci >> 13;
      out.push(type === 0x88a8 ? 'svlan' : 'vlan', String(tci & 0x0fff));
      if (pcp) out.push(`pcp ${pcp}`);
      off += 4;
      type = f.u16(off);
    }
    off += 2;
    if (type < 0x0600) {
      out.push(`llc len ${type}`);
    } else if (type === 0x0800) {
      ipv4(f, off, out);
    } else if (type === 0x86dd) {
      ipv6(f, off, out);
    } else if (type === 0x0806) {
      arp(f, off, out);
    } else if (type === 0x8847 || type === 0x8848) {
      out.push('mpls');
      out.push(`label ${f.u32(off) >>> 12}`);
    } else {
      out.push(`eth_type ${hex4(type)}`);
    }
  } catch (err) {
    if (!(err instanceof Truncated)) throw err;
    out.push('(truncated)');
  }
  return out.join(' ');
}
