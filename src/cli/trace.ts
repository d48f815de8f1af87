/**
 * `ovsdp trace [--ct-next STATE]... [--json] RULES_FILE FLOW`: what `ovsdp controller`
 * would do with a miss of FLOW under RULES_FILE, without a kernel (as ovs-appctl
 * ofproto/trace does for ovs-vswitchd): the rules each pass matches and the megaflow it
 * installs, through ct(table=N) recirculations for which --ct-next gives conntrack's answer.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type CliContext, UsageError } from './context.js';

interface TraceOptions {
  ctNext?: string[];
  json?: boolean;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function define(program: Command, context: () => CliContext): void {
  program
    .command('trace')
    .description('show what the controller does with a miss of FLOW under RULES_FILE: the rules each pass matches and the megaflow it installs; no kernel needed')
    .argument('<rules-file>', 'the rule table, as ovsdp controller reads it')
    .argument('<flow>', 'the packet\'s flow key in ovs-dpctl\'s syntax, ports as numbers (or LOCAL); metadata it leaves out (recirc_id, ct_state, ...) is zero, as in a first miss')
    .option('--ct-next <state>', 'conntrack\'s answer at a ct(table=N) recirculation: the flags it sets (trk,est,rpl or +trk+new) or a number; once per recirculation, in the order of the passes', collect)
    .option('--json', 'print {"passes": [{"table", "recircId", "after"?, "key", "rules", "megaflow", "mask", "actions", "refusal"?, ...}], "pending", "unusedCtStates"}')
    .addHelpText('after', `
Examples:
  ovsdp trace examples/nat.rules 'in_port(1),eth(),eth_type(0x0800),ipv4(src=10.1.1.1,dst=10.1.1.2,proto=6,frag=no),tcp(src=40000,dst=80)'
  ovsdp trace --ct-next trk,est,rpl examples/nat.rules 'in_port(2),eth(),eth_type(0x0800),ipv4(src=10.1.1.2,dst=10.1.1.240,proto=6,frag=no),tcp(src=80,dst=1024)'

Each pass shows the rules that matched (FILE:LINE and the rule) and the megaflow the
controller would install, as it prints it. FLOW is completed as the kernel sends a first
miss: metadata it leaves out is zero, and so are the headers its eth_type and IP protocol
imply (tcp_flags with tcp). A pass with ct(...),recirc(ID) stops there unless --ct-next
says what conntrack answers; the next pass then has that ct_state and the ct action's
zone (and the mark and labels it set). NAT is not applied: the next pass sees the
addresses FLOW gives. Recirc ids are numbered as if this packet were the controller's
first miss. A first miss's key from "ovsdp upcalls" works, its port names made numbers.`)
    .action(async (file: string, flowText: string, opts: TraceOptions) => {
      const { parseRules } = await import('../ovs/openflow/rules.js');
      const { parseCtState, traceKey } = await import('../ovs/openflow/trace.js');
      const ctNext = (opts.ctNext ?? []).map((text) => {
        try {
          return parseCtState(text);
        } catch (err) {
          throw new UsageError(`--ct-next ${(err as Error).message}`);
        }
      });
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
      }
      const rules = parseRules(text, { source: file });
      const { parseFlowMatch } = await import('../client/flow-text.js');
      const { FlowParseError } = await import('../ovs/flowstr/scanner.js');
      const actions = flowText.indexOf(', actions:');
      if (actions >= 0) throw new FlowParseError(flowText, actions, 'FLOW is a key alone: leave out ", actions:..."');
      // One packet's key: a mask would be silently dropped, so it is refused.
      const slash = flowText.indexOf('/');
      if (slash >= 0) throw new FlowParseError(flowText, slash, 'trace takes one packet\'s key: fields without masks (a megaflow from dump-flows is many packets)');
      // No datapath to name ports: numbers, and LOCAL (port 0) as the rules write it.
      const key = parseFlowMatch(flowText, { portNumbers: new Map([['LOCAL', 0]]) }).key ?? {};
      const { Pipeline } = await import('../ovs/openflow/pipeline.js');
      const trace = traceKey(new Pipeline(rules), key, ctNext);
      const ctx = context();
      const { renderTrace, traceJSON } = await import('./render/trace.js');
      if (opts.json) ctx.printJSON(traceJSON(trace, file));
      else ctx.print(renderTrace(trace, file, ctx.style));
      if (trace.unusedCtStates) ctx.warn(`note: ${trace.unusedCtStates} --ct-next state${trace.unusedCtStates === 1 ? ' was' : 's were'} not needed: the walk ended first`);
    });
}
