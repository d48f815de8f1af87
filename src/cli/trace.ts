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
  ctNext: string[];
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function define(program: Command, context: () => CliContext): void {
  program
    .command('trace')
    .description('show what the controller does with a miss of FLOW under RULES_FILE: the rules each pass matches and the megaflow it installs; no kernel needed')
    .argument('<rules-file>', 'the rule table, as ovsdp controller reads it')
    .argument('<flow>', 'the packet\'s flow key in ovs-dpctl\'s syntax, ports as numbers; metadata it leaves out (recirc_id, ct_state, ...) is zero, as in a first miss')
    .option('--ct-next <state>', 'conntrack\'s answer at a ct(table=N) recirculation, as flags (trk,est or +trk+est) or a number; once per recirculation, in order', collect, [])
    .option('--json', 'print {"passes": [{"table", "recircId", "key", "rules", "megaflow", "mask", "actions", ...}], "pending"?}')
    .addHelpText('after', `
Examples:
  ovsdp trace examples/nat.rules 'in_port(1),eth(),eth_type(0x0800),ipv4(src=10.1.1.1,dst=10.1.1.2,proto=6,frag=no),tcp(src=40000,dst=80)'
  ovsdp trace --ct-next trk,est examples/nat.rules 'in_port(2),eth(),eth_type(0x0800),ipv4(src=10.1.1.2,dst=10.1.1.240,proto=6,frag=no),tcp(src=80,dst=1024)'

Each pass shows the rules that matched (FILE:LINE and the rule) and the megaflow the
controller would install, as it prints it. A pass that ends in ct(...),recirc(ID) stops
there unless --ct-next says what conntrack answers; the next pass then has that ct_state,
the ct action's zone, and the mark and labels it set. NAT is not applied: the next pass
sees the addresses FLOW gives. Recirc ids are numbered as a controller started now would
number them. A key from "ovsdp upcalls" works once its port names are numbers.`)
    .action(async (file: string, flowText: string, opts: TraceOptions) => {
      const { parseCtState, parseRules } = await import('../ovs/openflow/rules.js');
      const ctNext = opts.ctNext.map((text) => {
        try {
          return parseCtState(text);
        } catch (err) {
          throw new UsageError(`--ct-next ${text}: ${(err as Error).message}`);
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
      // One packet's key: a mask would be silently dropped, so it is refused.
      const slash = flowText.indexOf('/');
      if (slash >= 0) throw new FlowParseError(flowText, slash, 'trace takes one packet\'s key: fields without masks (a megaflow from dump-flows is many packets)');
      const key = parseFlowMatch(flowText).key ?? {};
      const { Pipeline } = await import('../ovs/openflow/pipeline.js');
      const { traceKey } = await import('../ovs/openflow/trace.js');
      const trace = traceKey(new Pipeline(rules), key, ctNext);
      const ctx = context();
      if (trace.unusedCtStates) ctx.warn(`note: ${trace.unusedCtStates} --ct-next state${trace.unusedCtStates === 1 ? ' was' : 's were'} not needed: the walk ended first`);
      const { renderTrace, traceJSON } = await import('./render/trace.js');
      if (opts.json) return ctx.printJSON(traceJSON(trace, file));
      ctx.print(renderTrace(trace, file, ctx.style));
    });
}
