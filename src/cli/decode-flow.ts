/**
 * `ovsdp decode-flow [--json] [-m] --key HEX [--mask HEX] [--actions HEX]`: the flow string
 * of key, mask and actions payloads (as encode-flow prints them), without a kernel.
 */
import type { Command } from 'commander';
import { type CliContext, UsageError } from './context.js';

interface DecodeOptions {
  key: string;
  mask?: string;
  actions?: string;
  more?: boolean;
  json?: boolean;
}

function hexArg(name: string, text: string): Buffer {
  const clean = text.replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(clean)) throw new UsageError(`--${name}: "${text}" is not hex bytes`);
  return Buffer.from(clean, 'hex');
}

export function define(program: Command, context: () => CliContext): void {
  program
    .command('decode-flow')
    .description('print the flow string of OVS_FLOW_ATTR_KEY/_MASK/_ACTIONS payloads given as hex; no kernel needed')
    .requiredOption('--key <hex>', 'key payload')
    .option('--mask <hex>', 'mask payload (absent: exact match)')
    .option('--actions <hex>', 'actions payload')
    .option('-m, --more', 'print wildcarded fields too')
    .option('--json', 'print the decoded values as JSON')
    .action(async (opts: DecodeOptions) => {
      const { decodeAttrs, decodeList } = await import('../nl/codec.js');
      const { flowKeyAttrs } = await import('../ovs/keys.js');
      const { actionAttrs } = await import('../ovs/actions.js');
      const key = decodeAttrs(flowKeyAttrs, hexArg('key', opts.key), 0, undefined, 'key');
      const mask = opts.mask === undefined ? undefined : decodeAttrs(flowKeyAttrs, hexArg('mask', opts.mask), 0, undefined, 'mask');
      const actions = opts.actions === undefined ? undefined : decodeList(actionAttrs, hexArg('actions', opts.actions), 0, undefined, 'actions');
      const ctx = context();
      if (opts.json) return ctx.printJSON({ key, mask: mask ?? null, actions: actions ?? null });
      const { formatFlowMatch } = await import('../client/flow-text.js');
      ctx.print(formatFlowMatch(key, mask, actions, { verbose: opts.more === true }));
    });
}
