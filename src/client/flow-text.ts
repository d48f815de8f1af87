/**
 * The one place where the library meets ovs-dpctl's flow strings (the flow-string
 * language of src/ovs/flowstr): text in as what put/del send, flows out as dump-flows lines.
 */
import type { AttrValues } from '../nl/schema.js';
import { formatActions, parseActions } from '../ovs/flowstr/actions.js';
import { formatFlow, formatTcpFlagLetters, formatUsed, parseFlow } from '../ovs/flowstr/flow.js';
import { type KeyAttrMemo, formatKey } from '../ovs/flowstr/keys.js';
import type { Flow, FlowActions, FlowSpec } from './flows.js';

export interface FlowTextOptions {
  /** The datapath's ports by name, for in_port(eth0) and output:eth0. */
  portNumbers?: ReadonlyMap<string, number>;
  /**
   * For many flows read with the same options (a flow file): key attributes repeated from
   * an earlier flow are not parsed again, and the keys share their values (read-only).
   */
  memo?: KeyAttrMemo;
}

export interface FlowFormatOptions {
  /** ovs-dpctl -m: the UFID, wildcarded fields, dp:ovs. */
  verbose?: boolean;
  /** Port numbers printed as names (ovs-dpctl --names, the default with -m). */
  portNames?: ReadonlyMap<number, string>;
}

/**
 * A FLOW argument, `[ufid:UUID,]KEY`, as ovs-dpctl reads it: the UFID, key and mask it
 * sends (recirc_id and the rest of ovs-dpctl's additions included).
 */
export function parseFlowMatch(text: string, options: FlowTextOptions = {}): FlowSpec & { mask: AttrValues } {
  return parseFlow(text, { ...options, keyOnly: true }) as FlowSpec & { mask: AttrValues };
}

/** An ACTIONS argument. */
export function parseActionsText(text: string, options: FlowTextOptions = {}): FlowActions {
  const numbers = options.portNumbers;
  return parseActions(text, numbers ? { portNames: (name) => numbers.get(name) } : {});
}

/** FLOW and ACTIONS arguments of add-flow / mod-flow: the flow they install. */
export function parseFlowText(flow: string, actions: string, options: FlowTextOptions = {}): FlowSpec {
  return { ...parseFlowMatch(flow, options), actions: parseActionsText(actions, options) };
}

function formatActionsText(actions: FlowActions, options: FlowFormatOptions): string {
  const names = options.portNames;
  return formatActions(actions, names ? { portName: (no) => names.get(no) } : {});
}

/** `KEY, actions:ACTIONS` (decode-flow), or the key alone without actions. */
export function formatFlowMatch(key: AttrValues, mask: AttrValues | undefined, actions: FlowActions | undefined, options: FlowFormatOptions = {}): string {
  const text = formatKey(key, mask, options);
  return actions === undefined ? text : `${text}, actions:${formatActionsText(actions, options)}`;
}

/** ovs-dpctl's dpif_flow_stats_format(): `packets:N, bytes:N, used:S.SSSs|never[, flags:F]` (-s). */
export function formatFlowStats(flow: Flow, nowMs: bigint): string {
  let out = `packets:${flow.stats.packets}, bytes:${flow.stats.bytes}, used:${formatUsed(flow.used, nowMs)}`;
  if (flow.tcpFlags) out += `, flags:${formatTcpFlagLetters(flow.tcpFlags)}`;
  return out;
}

/** A dump-flows (or get-flow) line, as ovs-dpctl prints it. */
export function formatFlowLine(flow: Flow, nowMs: bigint, options: FlowFormatOptions = {}): string {
  const dump = {
    key: flow.key ?? {},
    ...(flow.mask ? { mask: flow.mask } : {}),
    ...(flow.actions ? { actions: flow.actions } : {}),
    ...(flow.ufid ? { ufid: flow.ufid } : {}),
    stats: { n_packets: flow.stats.packets, n_bytes: flow.stats.bytes },
    ...(flow.used !== undefined ? { used: flow.used } : {}),
    tcp_flags: flow.tcpFlags,
  };
  return formatFlow(dump, { now: nowMs, ...options });
}
