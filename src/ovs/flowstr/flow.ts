/**
 * A whole datapath flow in ovs-dpctl 3.1's text: what `add-flow`/`add-flows` take
 * (`[ufid:UUID,]KEY ACTIONS`) and what `dump-flows [-m]` prints
 * (`[ufid:UUID, ]KEY, packets:N, bytes:N, used:Xs[, flags:F][, dp:ovs], actions:ACTIONS`).
 * Keys and masks are src/ovs/flowstr/keys.ts's business, actions actions.ts's; this
 * file splits and joins the parts.
 */
import type { AttrValues } from '../../nl/schema.js';
import { formatActions, parseActions } from './actions.js';
import { type KeyAttrMemo, formatKey, parseKeyAttr, parseKeyList, skipDelimiters, take } from './keys.js';
import { FlowParseError, Scanner } from './scanner.js';

/** A flow as the library sends it: key and mask as encoded with flowKeyAttrs. */
export interface FlowSpec {
  key: AttrValues;
  mask: AttrValues;
  /** Absent when the text has none (a key for del-flow or get-flow). */
  actions?: AttrValues[];
  /** 16 bytes, as OVS_FLOW_ATTR_UFID carries them. */
  ufid?: Buffer;
}

/** A flow as the kernel reports it (decoded with flowAttrs). */
export interface FlowDump {
  key: AttrValues;
  mask?: AttrValues;
  actions?: AttrValues[];
  ufid?: Buffer;
  stats?: { n_packets: bigint | number; n_bytes: bigint | number };
  /** Monotonic milliseconds of the last packet; 0 or absent: never. */
  used?: bigint | number;
  /** TCP flags seen, OR-ed. */
  tcp_flags?: number;
}

export interface ParseFlowOptions {
  /** Port names accepted in in_port(NAME) and output actions (the datapath's ports). */
  portNumbers?: ReadonlyMap<string, number>;
  /** Key attributes parsed before, for many flows parsed with the same options (keys.ts KeyAttrMemo). */
  memo?: KeyAttrMemo;
  /**
   * The text is `[ufid:ID,]KEY` alone (ovs-dpctl's FLOW argument): whatever follows the
   * key is an error at its place, not actions or a dump line's statistics.
   */
  keyOnly?: boolean;
}

export interface FormatFlowOptions {
  /** ovs-dpctl -m: the UFID, wildcarded fields, `dp:ovs`. */
  verbose?: boolean;
  /**
   * The monotonic clock in milliseconds (what the kernel's `used` counts in, e.g.
   * performance.timeOrigin-free `process.hrtime.bigint() / 1000000n`), for `used:X.XXXs`.
   */
  now?: bigint | number;
  /** Port names for in_port() and actions (ovs-dpctl shows them with -m or --names). */
  portNames?: ReadonlyMap<number, string>;
}

// ---------------------------------------------------------------- UFID

const UUID_TEXT = /([0-9a-fA-F]{8})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})([0-9a-fA-F]{8})/y;

/**
 * A UFID is OVS's struct uuid: four host-order u32 words (little-endian here), printed
 * as 8-4-4-4-12 hex digits.
 */
export function formatUfid(ufid: Uint8Array): string {
  if (ufid.length !== 16) return Buffer.from(ufid.buffer, ufid.byteOffset, ufid.byteLength).toString('hex');
  // Each word's bytes from the last (little-endian words), two hex digits a byte.
  const x = (i: number): string => HEX_BYTE[ufid[i]!]!;
  return `${x(3)}${x(2)}${x(1)}${x(0)}-${x(7)}${x(6)}-${x(5)}${x(4)}-${x(11)}${x(10)}-${x(9)}${x(8)}${x(15)}${x(14)}${x(13)}${x(12)}`;
}

const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The `[ufid:UUID,]` a flow may start with (after delimiters), if there. */
function scanUfidPrefix(sc: Scanner): Buffer | undefined {
  skipDelimiters(sc);
  if (!sc.input.startsWith('ufid:', sc.pos)) return undefined;
  sc.pos += 5;
  return scanUfid(sc);
}

function scanUfid(sc: Scanner): Buffer {
  const at = sc.pos;
  const m = take(sc, UUID_TEXT);
  if (!m) throw sc.error('expected a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx) after "ufid:"', at);
  const b = Buffer.alloc(16);
  b.writeUInt32LE(parseInt(m[1]!, 16), 0);
  b.writeUInt32LE(((parseInt(m[2]!, 16) << 16) | parseInt(m[3]!, 16)) >>> 0, 4);
  b.writeUInt32LE(((parseInt(m[4]!, 16) << 16) | parseInt(m[5]!, 16)) >>> 0, 8);
  b.writeUInt32LE(parseInt(m[6]!, 16), 12);
  return b;
}

// ---------------------------------------------------------------- packet_type

/**
 * What dpif-netlink does to a key and a mask before sending them (put_exclude_packet_type):
 * the kernel has no packet_type, so it is dropped, and a packet without eth() takes its
 * EtherType from the packet type's low 16 bits (overwriting eth_type in place, or added
 * at the end). Key and mask are treated each on its own.
 */
export function excludePacketType(attrs: AttrValues): AttrValues {
  if (!Object.hasOwn(attrs, 'packet_type')) return attrs;
  const out: AttrValues = {};
  for (const [k, v] of Object.entries(attrs)) if (k !== 'packet_type') out[k] = v;
  if (!Object.hasOwn(attrs, 'ethernet')) out['ethertype'] = (attrs['packet_type'] as number) & 0xffff;
  return out;
}

// ---------------------------------------------------------------- parsing

/** TCP flag letters of the `flags:` statistic (packet_format_tcp_flags). */
const TCP_FLAG_LETTERS: ReadonlyArray<[string, number]> = [
  ['S', 0x002], ['F', 0x001], ['P', 0x008], ['R', 0x004], ['U', 0x020], ['.', 0x010], ['E', 0x040],
  ['C', 0x080], ['N', 0x100],
];

/** The statistics a dump line carries between key and actions; read and dropped. */
const STATS_ITEM = /(?:packets:[0-9]+|bytes:[0-9]+|used:(?:never|-?[0-9]+\.[0-9]+s)|flags:(?:none|[SFPRU.ECN]+)|dp:[A-Za-z0-9_-]+|offloaded:[a-z]+)/y;

/**
 * Parses the key argument of ovs-dpctl add-flow/mod-flow/del-flow/get-flow:
 * `[ufid:UUID,]KEY` (white space allowed between attributes). Key and mask are what
 * ovs-dpctl sends for it, byte for byte (packet_type excluded as dpif-netlink does).
 */
export function parseFlowKey(text: string, options: ParseFlowOptions = {}): Omit<FlowSpec, 'actions'> {
  const sc = new Scanner(text);
  const ufid = scanUfidPrefix(sc);
  const keyOptions = { masked: true, portNumbers: options.portNumbers, memo: options.memo };
  const { key, mask } = parseKeyList(sc, keyOptions);
  // Anything left is not a key attribute: let the key parser say why.
  if (sc.pos < text.length) parseKeyAttr(sc, keyOptions);
  const spec: Omit<FlowSpec, 'actions'> = { key: excludePacketType(key), mask: excludePacketType(mask) };
  if (ufid) spec.ufid = ufid;
  return spec;
}

/** Whether text after a FLOW argument's key would parse as actions (for the error's hint). */
function looksLikeActions(text: string): boolean {
  try {
    parseActions(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses one flow: `[ufid:UUID,] KEY [ACTIONS]` as add-flow/add-flows take it, or a whole
 * dump-flows line (`..., packets:0, bytes:0, used:never, actions:1`). The key and mask
 * are what ovs-dpctl sends to the kernel for this text, byte for byte (packet_type
 * excluded as dpif-netlink does). Throws FlowParseError pointing into `text`.
 */
export function parseFlow(text: string, options: ParseFlowOptions = {}): FlowSpec {
  const sc = new Scanner(text);
  const ufid = scanUfidPrefix(sc);
  const keyOptions = { masked: true, portNumbers: options.portNumbers, memo: options.memo };
  const { key, mask } = parseKeyList(sc, keyOptions);
  // The key ends at white space (add-flows' "KEY ACTIONS") or at the statistics or
  // "actions:" of a dump line. A name( right after a comma is still the key: let the
  // key parser say what is wrong with it.
  if (sc.pos < text.length && /^\w+\(/.test(text.slice(sc.pos)) && /(^|,)$/.test(text.slice(0, sc.pos))) {
    parseKeyAttr(sc, keyOptions);
  }
  const spec: FlowSpec = { key: excludePacketType(key), mask: excludePacketType(mask) };
  if (ufid) spec.ufid = ufid;
  if (options.keyOnly) sc.skipSpace();
  if (sc.pos >= text.length) return spec;
  if (options.keyOnly) {
    const after = /^,?\s*/.exec(text.slice(sc.pos))![0].length;
    const what = /(^|,)\s*$/.test(text.slice(0, sc.pos + after)) ? 'a flow key attribute' : '"," or the end of the flow key';
    throw sc.error(`expected ${what}${new Scanner(text, sc.pos + after).found()}${looksLikeActions(text.slice(sc.pos + after)) ? ' (actions go in their own argument)' : ''}`, sc.pos + after);
  }
  for (;;) {
    skipDelimiters(sc);
    if (!take(sc, STATS_ITEM)) break;
  }
  take(sc, /actions:/y);
  if (sc.pos < text.length) {
    const start = sc.pos;
    const numbers = options.portNumbers;
    try {
      spec.actions = parseActions(text.slice(start), numbers ? { portNames: (name) => numbers.get(name) } : {});
    } catch (e) {
      if (e instanceof FlowParseError) throw new FlowParseError(text, start + e.position, e.detail);
      throw e;
    }
  }
  return spec;
}

// ---------------------------------------------------------------- printing

/** dpif_flow_stats_format's `flags:` letters. */
export function formatTcpFlagLetters(flags: number): string {
  if (!flags) return 'none';
  let out = '';
  for (const [letter, bit] of TCP_FLAG_LETTERS) if (flags & bit) out += letter;
  return out;
}

/** `used:` as ovs-dpctl prints it: seconds since, to the millisecond, or never. */
export function formatUsed(used: bigint | number | undefined, now: bigint | number | undefined): string {
  if (used === undefined || BigInt(used) === 0n) return 'never';
  const ms = Number(BigInt(now ?? 0) - BigInt(used));
  return `${(ms / 1000).toFixed(3)}s`;
}

/**
 * One dump-flows line as ovs-dpctl 3.1 prints it for the kernel datapath:
 * `KEY, packets:N, bytes:N, used:Xs[, flags:F], actions:A`; verbose adds the UFID in
 * front and `dp:ovs` (dpif-netlink names every kernel flow's layer "ovs").
 */
export function formatFlow(flow: FlowDump, options: FormatFlowOptions = {}): string {
  const verbose = options.verbose ?? false;
  const names = options.portNames;
  let out = '';
  if (verbose && flow.ufid) out += `ufid:${formatUfid(flow.ufid)}, `;
  out += formatKey(flow.key, flow.mask, { verbose, portNames: names });
  out += `, packets:${flow.stats?.n_packets ?? 0}, bytes:${flow.stats?.n_bytes ?? 0}, used:${formatUsed(flow.used, options.now)}`;
  if (flow.tcp_flags) out += `, flags:${formatTcpFlagLetters(flow.tcp_flags)}`;
  if (verbose) out += ', dp:ovs';
  out += `, actions:${formatActions(flow.actions ?? [], names ? { portName: (no) => names.get(no) } : {})}`;
  return out;
}
