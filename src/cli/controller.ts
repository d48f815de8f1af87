/**
 * `ovsdp controller [DP] RULES_FILE`: answers DP's flow misses from an OpenFlow-like rule
 * table (ovs-ofctl's flow syntax; see src/ovs/openflow/rules.ts and docs/controller.md),
 * installing one megaflow per miss. Runs until SIGINT, SIGTERM or SIGHUP (or until the
 * datapath is deleted: exit 1); SIGUSR1 prints the counters; a changed RULES_FILE is reloaded.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ControllerStats, InstalledFlow } from '../client/controller.js';
import { type CliContext, UsageError } from './context.js';

interface ControllerCommandOptions {
  idleTimeout: string;
  stats?: string;
  mode: string;
  quiet?: boolean;
  batchedReads: boolean;
  sendsAtOnce: boolean;
}

function seconds(text: string, what: string): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) throw new UsageError(`${what} must be a number of seconds above 0, not "${text}"`);
  return v;
}

export function statsLine(s: ControllerStats): string {
  return `misses ${s.misses}, flows installed ${s.installed} (already there ${s.existing}), executed ${s.executed}, errors ${s.errors}, expired ${s.expired}, reloads ${s.reloads} (kept ${s.kept}, modified ${s.modified}, deleted ${s.deleted})`;
}

export function define(program: Command, context: () => CliContext): void {
  program
    .command('controller')
    .description('answer DP\'s flow misses from an OpenFlow-like rule table in RULES_FILE (ovs-ofctl flow syntax), one megaflow per miss')
    .argument('[args...]', '[dp] RULES_FILE')
    .option('--idle-timeout <seconds>', 'delete kernel flows idle this long', '10')
    .option('--stats <seconds>', 'print the counters every so many seconds (also on SIGUSR1 and at exit)')
    .option('--mode <mode>', 'upcall dispatch: auto (the datapath\'s), per-cpu or per-vport', 'auto')
    .option('-q, --quiet', 'do not print each installed flow')
    .option('--no-batched-reads', 'read upcalls one datagram at a time, as the netlink binding does, not the queued ones with one recvmmsg')
    .option('--no-sends-at-once', 'send puts and executes through the netlink binding, their ACK read when the event loop comes to it, not with a send(2) and a recvmmsg made there and then')
    .addHelpText('after', `
Examples:
  ovsdp controller dp0 examples/nat.rules          # Ctrl-C (or SIGTERM, SIGHUP) stops it
  ovsdp controller --quiet --stats 10 dp0 rules.txt

RULES_FILE has one rule a line in ovs-ofctl's flow syntax (table=, priority= optional),
e.g. the NAT walk-through's, from examples/nat.rules:
  in_port=1,ip,actions=ct(commit,zone=1,nat(src=10.1.1.240-10.1.1.255)),2
  in_port=2,ct_state=-trk,ip,actions=ct(table=0,zone=1,nat)
  in_port=2,ct_state=+trk+est,ct_zone=1,ip,actions=1
A packet no rule matches gets a drop flow. Editing RULES_FILE reloads it; SIGUSR1 prints
the counters. Each installed megaflow is printed as dump-flows prints it, with the rules
that made it. Fields, actions and how a miss becomes a megaflow: docs/controller.md in the
package.`)
    .action(async (args: string[], opts: ControllerCommandOptions) => {
      const ctx = context();
      if (args.length === 0) throw new UsageError('controller takes [DP] RULES_FILE (see docs/controller.md, and examples/nat.rules in the package)');
      if (args.length > 2) throw new UsageError(`controller takes [DP] RULES_FILE (unexpected "${args[2]}")`);
      if (!['auto', 'per-cpu', 'per-vport'].includes(opts.mode)) throw new UsageError(`--mode must be auto, per-cpu or per-vport, not "${opts.mode}"`);
      const idleTimeoutMs = seconds(opts.idleTimeout, '--idle-timeout') * 1000;
      const statsMs = opts.stats === undefined ? undefined : seconds(opts.stats, '--stats') * 1000;
      const file = args[args.length - 1]!;
      // The rules first: a mistake in them is reported without touching the kernel.
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        // One argument is the rules file: say so, for someone who gave only the datapath.
        const hint = args.length === 1 ? ' (controller takes [DP] RULES_FILE; the last argument is the rules)' : '';
        throw new UsageError(`cannot read ${file}: ${(err as Error).message}${hint}`);
      }
      const { parseRules } = await import('../ovs/openflow/rules.js');
      parseRules(text, { source: file });
      const { OvsConnection } = await import('../client/connection.js');
      const { splitDatapathArg } = await import('./flow-args.js');
      const conn = new OvsConnection();
      let dp;
      try {
        dp = (await splitDatapathArg(conn, args.slice(0, -1), 1)).datapath;
      } finally {
        conn.close();
      }
      const { Controller } = await import('../client/controller.js');
      const { ruleTrail } = await import('../ovs/openflow/rules.js');
      const { formatFlowMatch } = await import('../client/flow-text.js');
      const { maskedKey } = await import('../ovs/openflow/fields.js');
      const c = await Controller.start({
        datapath: { name: dp.name, ifindex: dp.ifindex }, rules: text, rulesFile: file, source: file, idleTimeoutMs, mode: opts.mode as 'auto',
        batchedReads: opts.batchedReads, sendsAtOnce: opts.sendsAtOnce,
      });
      const tables = [...new Set(c.rules.map((r) => r.table))].sort((a, b) => a - b);
      const ruleText = c.rules.length ? `${c.rules.length} rule${c.rules.length === 1 ? '' : 's'} in table${tables.length === 1 ? '' : 's'} ${tables.join(', ')}` : 'no rules';
      ctx.print(`controller: ${dp.name}: ${ruleText} from ${file}; upcalls ${c.mode}; idle timeout ${idleTimeoutMs / 1000} s`);
      if (!c.rules.length) ctx.warn(`${file} has no rules: every miss gets a drop flow until rules are written to it`);
      const rulesOf = (i: InstalledFlow): string => ruleTrail(file, i.translation.matched.map((r) => r.line));
      if (!opts.quiet) {
        c.on('install', (i) => ctx.print(`installed ${formatFlowMatch(maskedKey(i.flow.key, i.flow.mask!), i.flow.mask, i.flow.actions)}  [${rulesOf(i)}]`));
      }
      c.on('failure', (err, what) => ctx.warn(`${what}: ${err.message}${(err as { reason?: string }).reason ? ` (${(err as { reason?: string }).reason})` : ''}`));
      c.on('reload', (r) => ctx.print(`reloaded ${file}: ${r.rules} rules; kernel flows kept ${r.kept}, modified ${r.modified}, deleted ${r.deleted}`));
      c.on('expire', (n) => ctx.print(`expired ${n} idle flow${n === 1 ? '' : 's'}`));
      // Kept until the end: a second SIGINT (a terminal's reaches bin/ovsdp's child both
      // directly and passed on) must not cut the datapath's restoring short. The IPC
      // channel of bin/ovsdp's child closes when bin/ovsdp goes.
      let stop = (): void => undefined;
      const stopped = new Promise<void>((resolve) => { stop = () => resolve(); });
      c.on('gone', (name) => {
        ctx.warn(`datapath ${name} was deleted: the controller ends`);
        process.exitCode = 1;
        stop();
      });
      const printStats = (): void => ctx.print(`stats: ${statsLine(c.stats())}`);
      const timer = statsMs === undefined ? undefined : setInterval(printStats, statsMs);
      process.on('SIGUSR1', printStats);
      // SIGHUP too: a closed terminal or a dropped ssh session still restores the datapath.
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      process.on('SIGHUP', stop);
      process.once('disconnect', stop);
      await stopped;
      clearInterval(timer);
      process.off('SIGUSR1', printStats);
      await c.close();
      printStats();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', stop);
      process.off('disconnect', stop);
    });
}
