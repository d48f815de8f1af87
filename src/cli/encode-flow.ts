/**
 * `ovsdp encode-flow [--json] KEY [ACTIONS]`: the bytes add-flow would send for a flow,
 * without a kernel: the payloads of OVS_FLOW_ATTR_KEY, _MASK and _ACTIONS (each without its
 * own 4-byte attribute header) as lowercase hex. Ports are numbers here.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.js';

export function define(program: Command, context: () => CliContext): void {
  program
    .command('encode-flow')
    .description('print the netlink payloads add-flow sends for KEY (and ACTIONS), as hex; no kernel needed')
    .argument('<key>', 'flow key in ovs-dpctl\'s syntax (ports as numbers)')
    .argument('[actions]', 'actions in ovs-dpctl\'s syntax')
    .option('--json', 'print {"key": HEX, "mask": HEX|null, "actions": HEX|null}')
    .action(async (keyText: string, actionsText: string | undefined, opts: { json?: boolean }) => {
      const { parseActionsText, parseFlowMatch } = await import('../client/flow-text.js');
      const { flowPayloads } = await import('../client/flows.js');
      const match = parseFlowMatch(keyText);
      const actions = actionsText === undefined ? undefined : parseActionsText(actionsText);
      const payloads = flowPayloads({ key: match.key ?? {}, mask: match.mask, ...(actions ? { actions } : {}) }, actions !== undefined);
      const hex = (b: Buffer | undefined): string | null => (b ? b.toString('hex') : null);
      const out = { key: hex(payloads.key), mask: hex(payloads.mask), actions: hex(payloads.actions) };
      const ctx = context();
      // The bytes are printed either way (they are what was asked for); a flow add-flow
      // would refuse before sending is pointed out on stderr.
      const { FlowCheckError, checkFlowActions, checkFlowMatch } = await import('../ovs/flow-check.js');
      try {
        checkFlowMatch(match.key ?? {}, match.mask);
        checkFlowActions(actions);
      } catch (err) {
        if (!(err instanceof FlowCheckError)) throw err;
        ctx.warn(`note: add-flow would not send this flow: ${err.message}`);
      }
      if (opts.json) return ctx.printJSON(out);
      ctx.print(Object.entries(out).filter(([, v]) => v !== null).map(([k, v]) => `${k}: ${v}`).join('\n'));
    });
}
