/**
 * `ovsdp upcalls [DP] [--json] [--mode MODE] [--count N] [--handlers N] [--buffer BYTES]`:
 * listen to a datapath's upcalls and print one line each (type, port, packet summary,
 * flow key); Ctrl-C (or --count) ends and prints the counters on stderr.
 */
import type { Command } from 'commander';
import type { Upcall, UpcallListener, UpcallStats } from '../client/upcalls.js';
import { toJSONValue } from '../nl/codec.js';
import { formatKey } from '../ovs/flowstr/keys.js';
import { summarizePacket } from '../ovs/packet-summary.js';
import { type CliContext, UsageError } from './context.js';
import { checkArgCount, portMaps, splitDatapathArg } from './flow-args.js';

interface UpcallsOptions {
  json?: boolean;
  mode?: string;
  count?: string;
  handlers?: string;
  buffer?: string;
  takeOver?: boolean;
}

function portLabel(no: number, names: ReadonlyMap<number, string>): string {
  const name = names.get(no);
  return name === undefined ? `port ${no}` : `port ${no} (${name})`;
}

/** One upcall as a line of text (without colour). */
export function upcallLine(up: Upcall, names: ReadonlyMap<number, string>): string {
  let head = `${up.cmd} ${portLabel(up.inPort, names)} ${up.packet.length} bytes`;
  if (up.len !== undefined) head += ` (of ${up.len})`;
  if (up.userdata !== undefined) head += ` userdata 0x${up.userdata.toString('hex')}`;
  return `${head}: ${summarizePacket(up.packet)}; key ${formatKey(up.key, undefined, { portNames: names })}`;
}

/** One upcall for --json (one object per line): the codec's values plus the texts. */
export function upcallJSON(up: Upcall, names: ReadonlyMap<number, string>): unknown {
  // keyBytes is the key again, as the kernel encoded it: the JSON has the key.
  const { handlerPid, keyBytes: _keyBytes, ...rest } = up;
  const port = names.get(up.inPort);
  return toJSONValue({
    ...rest,
    ...(port !== undefined ? { port } : {}),
    keyText: formatKey(up.key, undefined, { portNames: names }),
    summary: summarizePacket(up.packet),
    handlerPid,
  });
}

/** The closing counters, one line. */
export function statsLine(s: UpcallStats): string {
  let out = `${s.upcalls} upcall${s.upcalls === 1 ? '' : 's'} (${s.misses} miss${s.misses === 1 ? '' : 'es'}, ${s.actions} action${s.actions === 1 ? '' : 's'})`;
  out += `, ${s.overruns} lost to full buffers, ${s.malformed} malformed`;
  if (s.dropped) out += `, ${s.dropped} dropped while printing fell behind`;
  return out;
}

function positive(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(text)) throw new UsageError(`${what} takes a positive whole number, not "${text}"`);
  return Number(text);
}

function byteSize(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)([kKmM]?)(i?[bB])?$/.exec(text);
  if (!m || Number(m[1]) === 0) throw new UsageError(`--buffer takes a size in bytes (e.g. 65536, 256k, 16M), not "${text}"`);
  const unit = m[2]!.toLowerCase();
  return Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1 << 20 : 1);
}

export function define(program: Command, context: () => CliContext): void {
  program
    .command('upcalls')
    .description('print the upcalls of DP as they come, one line each (DP may be left out when there is only one datapath); Ctrl-C ends')
    .argument('[dp]', 'the datapath (dp0 or system@dp0)')
    .option('--json', 'one JSON object per line, for scripts')
    .option('--mode <mode>', 'upcall dispatch: auto (the datapath\'s own, the default), per-cpu or per-vport (switches the datapath\'s dispatch feature while listening)', 'auto')
    .option('--count <n>', 'stop after N upcalls')
    .option('--handlers <n>', 'handler sockets (default: one per CPU)')
    .option('--buffer <bytes>', 'receive buffer of each handler socket (default 8M; capped by net.core.rmem_max)')
    .option('--take-over', 'listen even when another listener (ovs-vswitchd, another ovsdp upcalls) gets DP\'s upcalls; it gets them back on exit')
    .action(async (dpArg: string | undefined, opts: UpcallsOptions) => {
      const ctx = context();
      checkArgCount('upcalls', dpArg === undefined ? [] : [dpArg], 0, 1, '[DP]');
      const mode = opts.mode ?? 'auto';
      if (mode !== 'auto' && mode !== 'per-cpu' && mode !== 'per-vport') throw new UsageError(`--mode takes auto, per-cpu or per-vport, not "${mode}"`);
      const count = positive(opts.count, '--count');
      const handlers = positive(opts.handlers, '--handlers');
      const recvBufferSize = byteSize(opts.buffer);
      const { OvsConnection } = await import('../client/connection.js');
      const { UpcallListener } = await import('../client/upcalls.js');
      const conn = new OvsConnection();
      let listener: UpcallListener | undefined;
      const stop = (): void => void listener?.close();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const { datapath } = await splitDatapathArg(conn, dpArg === undefined ? [] : [dpArg], 1);
        const names = (await portMaps(conn, datapath)).names;
        listener = await UpcallListener.open({
          datapath, mode, connection: conn, takeOver: opts.takeOver === true,
          ...(handlers !== undefined ? { handlers } : {}), ...(recvBufferSize !== undefined ? { recvBufferSize } : {}),
        });
        const change = listener.featureChange;
        if (change) {
          ctx.warn(`switched ${datapath.name} to ${listener.mode} upcall dispatch while listening (features ${change.before.join(',') || 'none'} -> ${change.after.join(',') || 'none'}); they are restored on exit`);
        }
        ctx.status(`listening to ${datapath.name}'s upcalls (${listener.mode} dispatch, ${listener.pids.length} handler socket${listener.pids.length === 1 ? '' : 's'}); Ctrl-C ends`);
        listener.on('overrun', (lost) => ctx.warn(`${lost} upcall${lost === 1 ? '' : 's'} lost: a handler socket's receive buffer was full`));
        const paint: Record<string, (s: string) => string> = { miss: ctx.style.yellow, action: ctx.style.cyan };
        let seen = 0;
        outer: for await (const batch of listener.batches()) {
          ctx.clearStatus();
          for (const up of batch) {
            if (opts.json) ctx.print(JSON.stringify(upcallJSON(up, names)));
            else {
              const line = upcallLine(up, names);
              ctx.print(paint[up.cmd]!(up.cmd) + line.slice(up.cmd.length));
            }
            if (count !== undefined && ++seen >= count) break outer;
          }
        }
        const stats = listener.stats();
        await listener.close();
        ctx.clearStatus();
        ctx.warn(statsLine(stats));
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await listener?.close();
        conn.close();
      }
    });
}
