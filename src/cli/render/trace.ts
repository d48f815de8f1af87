/** `trace` output: each pass of a packet through the rule table, as text or --json. */
import { formatFlowMatch } from '../../client/flow-text.js';
import type { AttrValues } from '../../nl/schema.js';
import { hexAlt } from '../../ovs/flowstr/keys.js';
import { maskedKey } from '../../ovs/openflow/fields.js';
import { consecutiveRuns } from '../../ovs/openflow/rules.js';
import type { Recirculation, Trace, TracePass } from '../../ovs/openflow/trace.js';
import type { Style } from './style.js';

/** The megaflow a pass installs, as the controller prints it (and dump-flows). */
function megaflowText(p: TracePass): string {
  const t = p.translation;
  return formatFlowMatch(maskedKey(p.key, t.mask), t.mask, t.actions);
}

/** What a pass's key got from conntrack, as flow text: ct_state, and zone, mark and labels unless zero. */
function conntrackText(key: AttrValues): string {
  const ct: AttrValues = {};
  const mask: AttrValues = {};
  const exact: Record<string, unknown> = { ct_state: 0xffffffff, ct_zone: 0xffff, ct_mark: 0xffffffff, ct_labels: Buffer.alloc(16, 0xff) };
  for (const [name, ones] of Object.entries(exact)) {
    const v = key[name];
    if (name === 'ct_state' || (Buffer.isBuffer(v) ? v.some((b) => b !== 0) : Number(v) !== 0)) {
      ct[name] = v;
      mask[name] = ones;
    }
  }
  return formatFlowMatch(ct, mask, undefined);
}

function pendingText(r: Recirculation): string {
  return `pass ${r.from + 1}'s recirc(${hexAlt(r.id)}) to table ${r.table} not followed: conntrack (zone ${r.zone}) decides the next pass's ct_state;`;
}

export function renderTrace(trace: Trace, file: string, style: Style): string {
  const out: string[] = [];
  trace.passes.forEach((p, i) => {
    const where = p.after
      ? `recirc(${hexAlt(p.after.id)}) of pass ${p.after.from + 1}, table ${p.table}, after conntrack: ${conntrackText(p.key)}`
      : `table ${p.table}`;
    out.push(style.bold(`pass ${i + 1}: ${where}`));
    // A rule matched again and again in a row (a resubmit loop) once, with its count.
    for (const [rule, times] of consecutiveRuns(p.translation.matched)) {
      out.push(`  ${style.cyan(`${file}:${rule.line}`)}  ${rule.text}${times > 1 ? style.dim(`  (x${times})`) : ''}`);
    }
    for (const line of new Set(p.translation.skippedInPort)) {
      out.push(style.yellow(`  ${file}:${line}: its output to the input port is left out (OpenFlow's rule; write in_port to send a packet back)`));
    }
    if (p.translation.problem) out.push(style.yellow(`  ${p.translation.problem}: the packet is dropped`));
    else if (!p.translation.matched.length) out.push(style.yellow('  no rule matched: the packet is dropped'));
    out.push(`  megaflow: ${megaflowText(p)}`);
    if (p.refusal) out.push(style.yellow(`  the controller would not install it: ${p.refusal}`));
  });
  for (const r of trace.pending) out.push(pendingText(r));
  if (trace.pending.length) out.push('  follow it with --ct-next STATE, e.g. --ct-next trk,est,rpl (a reply) or --ct-next trk,new (a new connection)');
  return out.join('\n');
}

/** The trace for scripts: each pass's key, rules, megaflow (text and values) and problems. */
export function traceJSON(trace: Trace, file: string): unknown {
  return {
    passes: trace.passes.map((p) => ({
      table: p.table,
      recircId: Number(p.key['recirc_id']),
      ...(p.after ? { after: p.after } : {}),
      key: p.key,
      rules: p.translation.matched.map((r) => ({ file, line: r.line, table: r.table, priority: r.priority, text: r.text })),
      megaflow: megaflowText(p),
      mask: p.translation.mask,
      actions: p.translation.actions,
      ...(p.translation.skippedInPort ? { skippedInPort: p.translation.skippedInPort } : {}),
      ...(p.translation.problem ? { problem: p.translation.problem } : {}),
      ...(p.refusal ? { refusal: p.refusal } : {}),
    })),
    pending: trace.pending,
    unusedCtStates: trace.unusedCtStates,
  };
}
