/** `ovsdp monitor [DP...]`: datapath, vport and flow notifications as they happen, one line each. */
import type { Command } from 'commander';
import type { MonitorEvent, MonitorKind } from '../client/monitor.js';
import { toJSONValue } from '../nl/codec.js';
import { dpctlPortType } from '../ovs/vport.js';
import { type CliContext, UsageError } from './context.js';
import { datapathArg } from './dp-args.js';
import { monotonicMs } from '../client/clock.js';

interface MonitorOptions {
  json?: boolean;
  only?: string;
}

const KINDS: readonly MonitorKind[] = ['datapath', 'vport', 'flow'];

function kindsArg(text: string): MonitorKind[] {
  return text.split(',').map((k) => {
    const kind = k.trim().replace(/s$/, '');
    if (!(KINDS as readonly string[]).includes(kind)) throw new UsageError(`--only: unknown kind "${k}" (datapath, vport, flow)`);
    return kind as MonitorKind;
  });
}

/** One event as a line of text (without colour). */
export async function eventLine(event: MonitorEvent, nowMs: bigint): Promise<string> {
  if (event.kind === 'overrun') return `overrun: ${event.error.message}`;
  const head = `${event.kind} ${event.command} system@${event.datapath ?? `?(ifindex ${event.datapathIfindex})`}`;
  switch (event.kind) {
    case 'datapath': {
      const dp = event.object;
      return event.command === 'del' ? head : `${head}: ifindex ${dp.ifindex}, features ${dp.features.join(',') || 'none'}`;
    }
    case 'vport': {
      const { kernelOptions } = await import('./render/show.js');
      const v = event.object;
      const type = dpctlPortType(v.type, v.name);
      const options = kernelOptions(v);
      const suffix = type === 'system' && !options ? '' : ` (${type}${options ? `: ${options}` : ''})`;
      return `${head}: port ${v.portNo}: ${v.name}${suffix}`;
    }
    case 'flow': {
      const { formatFlowLine } = await import('../client/flow-text.js');
      return `${head}: ${formatFlowLine(event.object, nowMs)}`;
    }
  }
}

/** One event for --json (printed on one line). */
export async function eventJSON(event: MonitorEvent): Promise<unknown> {
  if (event.kind === 'overrun') return { kind: 'overrun', message: event.error.message };
  if (event.kind !== 'flow') return event;
  const { flowJSON } = await import('./render/flows.js');
  return { ...event, object: flowJSON(event.object) };
}

export function define(program: Command, context: () => CliContext): void {
  program
    .command('monitor')
    .description('print datapath, vport and flow notifications as they happen, one line each (Ctrl-C ends)')
    .argument('[dp...]', 'only events of these datapaths (dp0 or system@dp0)')
    .option('--json', 'one JSON object per line, for scripts')
    .option('--only <kinds>', 'only these kinds: datapath, vport, flow (comma-separated)')
    .action(async (dpArgs: string[], opts: MonitorOptions) => {
      const wanted = new Set(dpArgs.map(datapathArg));
      const kinds = opts.only === undefined ? [...KINDS] : kindsArg(opts.only);
      const ctx = context();
      const { Monitor } = await import('../client/monitor.js');
      const monitor = await Monitor.open({ kinds });
      const stop = (): void => monitor.close();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const colour: Record<string, (s: string) => string> = { new: ctx.style.green, del: ctx.style.red, set: ctx.style.yellow };
      try {
        for await (const event of monitor) {
          if (event.kind !== 'overrun' && wanted.size && !wanted.has(event.datapath ?? '')) continue;
          if (opts.json) {
            ctx.print(JSON.stringify(toJSONValue(await eventJSON(event))));
            continue;
          }
          if (event.kind === 'overrun') {
            ctx.warn(`notifications were lost: ${event.error.message}`);
            continue;
          }
          const line = await eventLine(event, monotonicMs());
          const paint = colour[event.command];
          ctx.print(paint ? line.replace(`${event.kind} ${event.command}`, paint(`${event.kind} ${event.command}`)) : line);
        }
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        monitor.close();
      }
    });
}
