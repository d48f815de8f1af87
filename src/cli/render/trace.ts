/** `trace` output: each pass of a packet through the rule table, as text or --json. */
import { formatFlowMatch } from '../../client/flow-text.js';
import type { AttrValues } from '../../nl/schema.js';
import { formatActions } from '../../ovs/flowstr/actions.js';
import { CT_STATE_FLAGS } from '../../ovs/keys.js';
import { maskedKey } from '../../ovs/openflow/fields.js';
import type { Trace, TracePass } from '../../ovs/openflow/trace.js';
import type { Style } from './style.js';

/** The megaflow a pass installs, as the controller prints it (and dump-flows). */
function megaflowText(p: TracePass): string {
  const t = p.translation;
  return formatFlowMatch(maskedKey(p.key, t.mask), t.mask, t.actions);
}

/**
 * What the next pass's key got from conntrack, in the rules' match syntax
 * (ct_state=+est+trk,ct_zone=1): its state, and zone, mark and labels unless zero.
 */
function conntrackText(key: AttrValues): string {
  const state = Number(key['ct_state']);
  const flags = Object.entries(CT_STATE_FLAGS).filter(([, bit]) => state & bit).map(([name]) => `+${name}`).join('');
  const parts = [`ct_state=${flags || '0'}`];
  const zone = Number(key['ct_zone']);
  const mark = Number(key['ct_mark']);
  const labels = key['ct_labels'] as Buffer;
  if (zone) parts.push(`ct_zone=${zone}`);
  if (mark) parts.push(`ct_mark=0x${mark.toString(16)}`);
  // ct_label is a 128-bit number: its bytes are little-endian in the key.
  if (labels.some((b) => b !== 0)) parts.push(`ct_label=0x${Buffer.from(labels).reverse().toString('hex').replace(/^0+/, '')}`);
  return parts.join(',');
}

export function renderTrace(trace: Trace, file: string, style: Style): string {
  const out: string[] = [];
  trace.passes.forEach((p, i) => {
    const recirc = Number(p.key['recirc_id']);
    const where = recirc === 0 ? `table ${p.table}` : `recirc_id(0x${recirc.toString(16)}), table ${p.table}, after conntrack: ${conntrackText(p.key)}`;
    out.push(style.bold(`pass ${i + 1}: ${where}`));
    for (const r of p.translation.matched) out.push(`  ${style.cyan(`${file}:${r.line}`)}  ${r.text}`);
    if (p.translation.problem) out.push(style.yellow(`  ${p.translation.problem}: the packet is dropped`));
    else if (!p.translation.matched.length) out.push(style.yellow('  no rule matched: the packet is dropped'));
    out.push(`  megaflow: ${megaflowText(p)}`);
  });
  if (trace.pending) {
    const { id, table, zone } = trace.pending;
    out.push(`then recirc(0x${id.toString(16)}) to table ${table}: conntrack (zone ${zone}) decides the next pass's ct_state;`,
      '  follow it with --ct-next STATE, e.g. --ct-next trk,est (a reply) or --ct-next trk,new (a new connection)');
  }
  return out.join('\n');
}

/** The trace for scripts: each pass's key, rules, megaflow (text and values) and problem. */
export function traceJSON(trace: Trace, file: string): unknown {
  return {
    passes: trace.passes.map((p) => ({
      table: p.table,
      recircId: Number(p.key['recirc_id']),
      ctStateGiven: p.ctStateGiven,
      key: p.key,
      rules: p.translation.matched.map((r) => ({ file, line: r.line, table: r.table, priority: r.priority, text: r.text })),
      megaflow: megaflowText(p),
      mask: p.translation.mask,
      actions: p.translation.actions,
      actionsText: formatActions(p.translation.actions),
      ...(p.translation.problem ? { problem: p.translation.problem } : {}),
    })),
    ...(trace.pending ? { pending: trace.pending } : {}),
  };
}
