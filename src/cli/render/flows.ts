/**
 * Flows for people and scripts: dump-flows lines exactly as ovs-dpctl prints them (the
 * flow-string language does the key and actions), and the JSON form.
 */
import { FlowLinePrinter } from '../../client/flow-printer.js';
import { formatFlowLine } from '../../client/flow-text.js';
import type { Flow } from '../../client/flows.js';
import { formatUfid } from '../../ovs/flowstr/flow.js';

export interface FlowListOptions {
  /** -m: the UFID and wildcarded fields too */
  more?: boolean;
  /** --names / --no-names; undefined: names with -m, numbers without (ovs-dpctl's default) */
  names?: boolean;
  json?: boolean;
}

/** Whether ports are printed by name. */
export function wantNames(opts: FlowListOptions): boolean {
  return opts.names ?? opts.more === true;
}

/** One dump-flows line. */
export function flowLine(flow: Flow, nowMs: bigint, opts: FlowListOptions, portNames?: ReadonlyMap<number, string>): string {
  return flowLineFormatter(nowMs, opts, portNames)(flow);
}

/** flowLine() for many flows: the options are worked out once, not per flow. */
export function flowLineFormatter(nowMs: bigint, opts: FlowListOptions, portNames?: ReadonlyMap<number, string>): (flow: Flow) => string {
  const options = { verbose: opts.more === true, ...(portNames ? { portNames } : {}) };
  return (flow) => formatFlowLine(flow, nowMs, options);
}

/**
 * flowLineFormatter() for the kernel's undecoded replies (FlowTable.dumpRawBatches): a
 * batch's lines at once, each ending in a newline.
 */
export function rawFlowLinesPrinter(nowMs: bigint, opts: FlowListOptions, portNames?: ReadonlyMap<number, string>): (replies: readonly Buffer[]) => string {
  const printer = new FlowLinePrinter(nowMs, { verbose: opts.more === true, ...(portNames ? { portNames } : {}) });
  return (replies) => printer.printReplies(replies);
}

/** A flow for --json: the library's values, the UFID as ovs-dpctl writes it. */
export function flowJSON(flow: Flow): unknown {
  return {
    ufid: flow.ufid ? formatUfid(flow.ufid) : null,
    key: flow.key ?? null,
    mask: flow.mask ?? null,
    actions: flow.actions ?? null,
    packets: flow.stats.packets,
    bytes: flow.stats.bytes,
    used: flow.used ?? null,
    tcpFlags: flow.tcpFlags,
    ...(flow.unknown ? { unknown: flow.unknown } : {}),
  };
}
