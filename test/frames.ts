// Ethernet frames built by hand for tests (packet summaries, execute, upcalls).
import { parseIPv4, parseIPv6, parseMac } from '../src/nl/repr.js';

function mac(s: string): Buffer {
  const b = parseMac(s);
  if (!b) throw new Error(`bad MAC ${s}`);
  return b;
}

function ip4(s: string): Buffer {
  const n = parseIPv4(s);
  if (n === undefined) throw new Error(`bad IPv4 ${s}`);
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function ip6(s: string): Buffer {
  const b = parseIPv6(s);
  if (!b) throw new Error(`bad IPv6 ${s}`);
  return b;
}

function checksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function ethernet(src: string, dst: string, type: number, payload: Buffer, vlans: number[] = []): Buffer {
  const tags = vlans.map((tci) => {
    const t = Buffer.alloc(4);
    t.writeUInt16BE(0x8100);
    t.writeUInt16BE(tci, 2);
    return t;
  });
  const et = Buffer.alloc(2);
  et.writeUInt16BE(type);
  return Buffer.concat([mac(dst), mac(src), ...tags, et, payload]);
}

export function ipv4Packet(src: string, dst: string, proto: number, payload: Buffer, options: { fragOffset?: number; moreFragments?: boolean; ttl?: number } = {}): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h.writeUInt16BE(((options.moreFragments ? 0x2000 : 0) | ((options.fragOffset ?? 0) / 8)), 6);
  h[8] = options.ttl ?? 64;
  h[9] = proto;
  ip4(src).copy(h, 12);
  ip4(dst).copy(h, 16);
  h.writeUInt16BE(checksum(h), 10);
  return Buffer.concat([h, payload]);
}

export function ipv6Packet(src: string, dst: string, next: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000);
  h.writeUInt16BE(payload.length, 4);
  h[6] = next;
  h[7] = 64;
  ip6(src).copy(h, 8);
  ip6(dst).copy(h, 24);
  return Buffer.concat([h, payload]);
}

export function udp(sport: number, dport: number, data: Buffer = Buffer.from('hello')): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + data.length, 4);
  return Buffer.concat([h, data]);
}

export function tcp(sport: number, dport: number, flags: number): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE((5 << 12) | flags, 12);
  return h;
}

export function icmp(type: number, code = 0): Buffer {
  const h = Buffer.alloc(8);
  h[0] = type;
  h[1] = code;
  h.writeUInt16BE(checksum(h), 2);
  return h;
}

export function arp(op: number, sha: string, spa: string, tha: string, tpa: string): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(1);
  h.writeUInt16BE(0x0800, 2);
  h[4] = 6;
  h[5] = 4;
  h.writeUInt16BE(op, 6);
  return Buffer.concat([h, mac(sha), ip4(spa), mac(tha), ip4(tpa)]);
}

/** A UDP datagram in IPv4 in Ethernet. */
export function udpFrame(srcMac: string, dstMac: string, srcIp: string, dstIp: string, sport: number, dport: number, data?: Buffer): Buffer {
  return ethernet(srcMac, dstMac, 0x0800, ipv4Packet(srcIp, dstIp, 17, udp(sport, dport, data)));
}
