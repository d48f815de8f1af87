/**
 * Execute: hand the datapath a packet and the actions to apply to it (OVS_PACKET_CMD_EXECUTE),
 * as ovs-vswitchd does for the packets of its upcalls (lib/dpif-netlink.c
 * dpif_netlink_encode_execute: PACKET, KEY, ACTIONS, then PROBE, MRU, HASH when set).
 *
 * What the kernel needs (net/openvswitch/datapath.c ovs_packet_cmd_execute): PACKET, KEY
 * and ACTIONS must all be there (EINVAL otherwise), but KEY may be empty. The kernel reads
 * only metadata from KEY (in_port, priority, skb_mark, tunnel, recirc_id, dp_hash, ct_*,
 * packet_type for a packet without Ethernet header) and extracts everything else from the
 * packet itself (ovs_flow_key_extract_userspace); the actions are checked against that key
 * (a set(ipv4(...)) on a packet that is not IPv4 is EINVAL). Without in_port, or with a
 * port the datapath does not have, the packet comes from the datapath's local port.
 */
import { NetlinkError, errnoName } from '../nl/errors.js';
import { genlRequest, operation } from '../nl/family.js';
import type { GenlRequest } from '../nl/message.js';
import type { AttrValues } from '../nl/schema.js';
import { ActionsCheckMemo, checkFlowActions } from '../ovs/flow-check.js';
import { packetFamily } from '../ovs/packet.js';
import type { OvsConnection } from './connection.js';
import { type DatapathRef, resolveDatapath } from './datapaths.js';
import { explain, rewrap } from './errors.js';
import { KernelLog } from './kernel-log.js';

/** A packet to execute. */
export interface ExecuteSpec {
  /** The packet from its Ethernet header. */
  packet: Buffer;
  /** OVS_ACTION_ATTR_* entries in order (src/ovs/actions.ts); [] drops the packet. */
  actions: AttrValues[];
  /** Metadata (OVS_KEY_ATTR_* values: in_port, priority, skb_mark, ...); default none. */
  key?: AttrValues;
  /** Largest fragment size, for a reassembled packet (sets ignore_df). */
  mru?: number;
  /** skb hash in bits 0..31, sw_hash bit 32, l4_hash bit 33. */
  hash?: bigint;
  /** A feature probe: the kernel logs nothing when it refuses. */
  probe?: boolean;
}

/** The attributes of an execute request, in ovs-vswitchd's order. */
export function executeAttrs(spec: ExecuteSpec): AttrValues {
  const attrs: AttrValues = { packet: spec.packet, key: spec.key ?? {}, actions: spec.actions };
  if (spec.probe) attrs['probe'] = true;
  if (spec.mru !== undefined) attrs['mru'] = spec.mru;
  if (spec.hash !== undefined) attrs['hash'] = spec.hash;
  return attrs;
}

/** The kernel's policy for OVS_PACKET_ATTR_PACKET: at least an Ethernet header. */
const MIN_PACKET = 14;

/** An execute's kernel error as a sentence; `reasons`: what the kernel logged for it. */
export function explainExecuteError(err: unknown, dpName: string, packetLength: number, reasons: readonly string[]): unknown {
  if (!(err instanceof NetlinkError)) return err;
  const code = errnoName(err.errno);
  if (code === 'ERANGE' && packetLength < MIN_PACKET) return rewrap(err, `the kernel takes no packet shorter than ${MIN_PACKET} bytes (an Ethernet header); this one has ${packetLength}`);
  const withReason = reasons.length ? new NetlinkError(err.errno, err.message, { cause: err, reason: reasons.join('; '), ...(err.operation ? { operation: err.operation } : {}) }) : err;
  if (code === 'ENODEV') return rewrap(withReason, `no datapath named ${dpName}`);
  if (code === 'EINVAL') return rewrap(withReason, `the kernel refused to execute the packet in ${dpName}: a key or action it does not accept for this packet`);
  return explain(withReason, { datapath: dpName });
}

/** Executes actions on one packet in a datapath. */
export async function execute(conn: OvsConnection, spec: ExecuteSpec & { datapath: DatapathRef }): Promise<void> {
  checkFlowActions(spec.actions);
  const dp = await resolveDatapath(conn, spec.datapath);
  const req = await conn.buildRequest(packetFamily, 'execute', { header: { dp_ifindex: dp.ifindex }, attrs: executeAttrs(spec) });
  // Opened before the request, not after a refusal with the packet sent again
  // (KernelLog.openAfterRefusal): an EINVAL may come from an action that failed after
  // earlier ones ran (push_mpls on an encapsulated packet, after an output), and a packet
  // sent again would go out again. A probe's refusal logs nothing.
  const log = spec.probe ? undefined : KernelLog.open();
  try {
    await conn.socket.request(req, operation(packetFamily, 'execute'));
  } catch (err) {
    throw explainExecuteError(err, dp.name, spec.packet.length, log?.readReasons() ?? []);
  } finally {
    log?.close();
  }
}

export interface ExecuteManyResult {
  executed: number;
  failed: number;
  /** The first failures (up to 10), with their index in the input. */
  errors: { index: number; error: Error }[];
}

/**
 * Executes many packets, `batchSize` requests per sendmsg and one wait per batch: for
 * bursts (a packet generator, a test that floods upcalls).
 */
export async function executeMany(
  conn: OvsConnection, datapath: DatapathRef, specs: Iterable<ExecuteSpec>, options: { batchSize?: number } = {},
): Promise<ExecuteManyResult> {
  const dp = await resolveDatapath(conn, datapath);
  const family = await conn.family(packetFamily);
  const header = { dp_ifindex: dp.ifindex };
  const batchSize = Math.max(1, options.batchSize ?? 64);
  const result: ExecuteManyResult = { executed: 0, failed: 0, errors: [] };
  let batch: GenlRequest[] = [];
  let lengths: number[] = [];
  let indexes: number[] = [];
  const failed = (index: number, error: Error): void => {
    result.failed++;
    if (result.errors.length < 10) result.errors.push({ index, error });
  };
  const flush = async (): Promise<void> => {
    const results = await conn.batch(batch, packetFamily, 'execute');
    results.forEach((r, i) => {
      if (r.error) failed(indexes[i]!, explainExecuteError(r.error, dp.name, lengths[i]!, []) as Error);
      else result.executed++;
    });
    batch = [];
    lengths = [];
    indexes = [];
  };
  // Action lists the kernel would refuse, found once per list object (specs often share one).
  const checks = new ActionsCheckMemo();
  let index = 0;
  for (const spec of specs) {
    const at = index++;
    const refusal = checks.refusal(spec.actions);
    if (refusal) {
      failed(at, refusal);
      continue;
    }
    lengths.push(spec.packet.length);
    indexes.push(at);
    batch.push(genlRequest(packetFamily, family.id, 'execute', { header, attrs: executeAttrs(spec) }));
    if (batch.length >= batchSize) await flush();
  }
  if (batch.length) await flush();
  return result;
}

