/**
 * Attribute sets the netlink-layer tests share: one attribute of every kind the codec
 * knows, nested two levels, plus a set that turns NLA_F_NESTED on by default.
 * The golden bytes in the tests assume a little-endian host (x86-64, as the project does).
 */
import { defineSet, defineStruct } from '../../../src/nl/schema.js';

/** Hex with spaces and newlines allowed, for readable golden bytes. */
export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** 16 bytes: a u8 enum, a pad byte, a be16, an IPv4 be32, a MAC, two pad bytes. */
export const endpoint = defineStruct('endpoint', [
  { name: 'proto', type: 'u8', enum: { tcp: 6, udp: 17 } },
  { name: 'pad1', type: 'pad', len: 1 },
  { name: 'port', type: 'be16' },
  { name: 'ip', type: 'be32', repr: 'ipv4' },
  { name: 'mac', type: 'bytes', len: 6, repr: 'mac' },
  { name: 'pad2', type: 'pad', len: 2 },
]);

/** 8 bytes: two u32. */
export const pair = defineStruct('pair', [
  { name: 'a', type: 'u32' },
  { name: 'b', type: 'u32' },
]);

export const leafSet = defineSet('leaf', [
  { id: 1, name: 'x', type: 'u16' },
  { id: 2, name: 'on', type: 'flag' },
  { id: 3, name: 'tag', type: 'string' },
]);

export const innerSet = defineSet('inner', [
  { id: 1, name: 'a', type: 'u32' },
  { id: 2, name: 'b', type: 'string' },
  { id: 3, name: 'leaf', type: 'nested', set: leafSet },
  { id: 4, name: 'big', type: 'u64' },
]);

/** Fields of a set_masked-style nest: each attribute carries value then mask. */
export const fieldSet = defineSet('fields', [
  { id: 1, name: 'src', type: 'be32', repr: 'ipv4' },
  { id: 2, name: 'port', type: 'be16' },
  { id: 3, name: 'eth', type: 'binary', len: 6, repr: 'mac' },
  { id: 4, name: 'proto', type: 'u8' },
  { id: 5, name: 'ip6', type: 'binary', len: 16, repr: 'ipv6' },
]);

export const groupSet = defineSet('group', [
  { id: 1, name: 'name', type: 'string' },
  { id: 2, name: 'id', type: 'u32' },
]);

export const allSet = defineSet('all', [
  { id: 1, name: 'u8', type: 'u8' },
  { id: 2, name: 'u16', type: 'u16' },
  { id: 3, name: 'u32', type: 'u32' },
  { id: 4, name: 'u64', type: 'u64' },
  { id: 5, name: 's8', type: 's8' },
  { id: 6, name: 's16', type: 's16' },
  { id: 7, name: 's32', type: 's32' },
  { id: 8, name: 's64', type: 's64' },
  { id: 9, name: 'be16', type: 'be16' },
  { id: 10, name: 'be32', type: 'be32' },
  { id: 11, name: 'be64', type: 'be64' },
  { id: 12, name: 'flag', type: 'flag' },
  { id: 13, name: 'str', type: 'string' },
  { id: 14, name: 'name', type: 'string', maxLen: 4 },
  { id: 15, name: 'bin', type: 'binary' },
  { id: 16, name: 'bin4', type: 'binary', len: 4 },
  { id: 17, name: 'bin3max', type: 'binary', maxLen: 3 },
  { id: 18, name: 'ipv4', type: 'be32', repr: 'ipv4' },
  { id: 19, name: 'ipv6', type: 'binary', len: 16, repr: 'ipv6' },
  { id: 20, name: 'mac', type: 'binary', len: 6, repr: 'mac' },
  { id: 21, name: 'endpoint', type: 'struct', struct: endpoint },
  { id: 22, name: 'endpoint_old', type: 'struct', struct: endpoint, minLen: 8 },
  { id: 23, name: 'u32s', type: 'array', of: 'u32' },
  { id: 24, name: 'pairs', type: 'array', of: pair },
  { id: 25, name: 'inner', type: 'nested', set: innerSet },
  { id: 26, name: 'list', type: 'nested', set: innerSet, list: true },
  { id: 27, name: 'groups', type: 'nested', set: groupSet, indexed: true },
  { id: 28, name: 'masked', type: 'nested', set: fieldSet, masked: true },
  { id: 29, name: 'kind', type: 'u32', enum: { internal: 0, netdev: 1, vxlan: 4 } },
  { id: 30, name: 'inner_flagged', type: 'nested', set: innerSet, nestedFlag: true },
  { id: 31, name: 'raw_str', type: 'string', raw: true },
  { id: 32, name: 'pad', type: 'pad' },
  { id: 33, name: 'big_kind', type: 'u64', enum: { small: 1, large: 0x10000 } },
]);

/** A set whose nested attributes carry NLA_F_NESTED unless an attribute says otherwise. */
export const flaggedSet = defineSet('flagged', [
  { id: 1, name: 'inner', type: 'nested', set: innerSet },
  { id: 2, name: 'inner_plain', type: 'nested', set: innerSet, nestedFlag: false },
  { id: 3, name: 'list', type: 'nested', set: innerSet, list: true },
], { nestedFlag: true });

/** A set that contains itself, as OVS actions do (clone, sample): for nesting-depth tests. */
export const recursiveSet = defineSet('recursive', [
  { id: 1, name: 'n', type: 'u32' },
  { id: 2, name: 'self', type: 'nested', set: () => recursiveSet },
  { id: 3, name: 'selves', type: 'nested', set: () => recursiveSet, list: true },
]);
