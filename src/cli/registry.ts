/**
 * The commands, loaded on demand: start-up imports only the module of the command
 * being run (all of them only for the top-level --help).
 */
import type { Command } from 'commander';
import type { CliContext } from './context.js';

export interface CommandModule {
  /** Adds the command (its arguments, options, help and action) to the program. */
  define(program: Command, ctx: () => CliContext): void;
  /**
   * The command's action itself, for commands whose usual command line is plain words:
   * `ovsdp NAME ARG...` with no option (no "-x", "--x", "--help"; "-" alone is a word) and
   * at least `minArgs` words runs this without commander, which start-up then does not
   * load (~0.15-0.2 s in the test VM). Such a run sets up no EPIPE guard on stdout: a
   * command that prints there calls endQuietlyOnClosedStdout() (context.ts) itself.
   * Anything else goes through `define`.
   */
  plain?: { minArgs: number; run(args: string[], ctx: () => CliContext): Promise<void> };
}

export const commands: Record<string, () => Promise<CommandModule>> = {
  families: () => import('./families.js'),
  'add-dp': () => import('./add-dp.js'),
  'del-dp': () => import('./del-dp.js'),
  'dump-dps': () => import('./dump-dps.js'),
  show: () => import('./show.js'),
  'add-if': () => import('./add-if.js'),
  'set-if': () => import('./set-if.js'),
  'del-if': () => import('./del-if.js'),
  'set-dp': () => import('./set-dp.js'),
  'cache-get-size': () => import('./cache-get-size.js'),
  'cache-set-size': () => import('./cache-set-size.js'),
  'ct-set-limits': () => import('./ct-set-limits.js'),
  'ct-get-limits': () => import('./ct-get-limits.js'),
  'ct-del-limits': () => import('./ct-del-limits.js'),
  monitor: () => import('./monitor.js'),
  'add-flow': () => import('./add-flow.js'),
  'mod-flow': () => import('./mod-flow.js'),
  'del-flow': () => import('./del-flow.js'),
  'get-flow': () => import('./get-flow.js'),
  'dump-flows': () => import('./dump-flows.js'),
  'del-flows': () => import('./del-flows.js'),
  'add-flows': () => import('./add-flows.js'),
  'mod-flows': () => import('./mod-flows.js'),
  'encode-flow': () => import('./encode-flow.js'),
  'decode-flow': () => import('./decode-flow.js'),
  execute: () => import('./execute.js'),
  upcalls: () => import('./upcalls.js'),
  controller: () => import('./controller.js'),
  trace: () => import('./trace.js'),
};

const conntrackTable = (tools: string): string => `The connection tracking table is netfilter's: ${tools} (conntrack-tools).`;
const userspaceOnly = (sysctl: string): string => `ovs-dpctl has it for its userspace datapath only; the kernel's is "sysctl ${sysctl}".`;
const FRAGMENTS = 'Fragment reassembly settings of the userspace datapath; the kernel reassembles in conntrack ("sysctl net.ipv4.ipfrag_high_thresh" and the like).';
const FLOW_TEXT = '"ovsdp encode-flow KEY ACTIONS" parses a flow and its actions and prints their bytes; "decode-flow" prints bytes as text.';

/**
 * ovs-dpctl 3.1's commands that ovsdp has no command for, with what to use instead: they
 * speak netfilter's conntrack or the settings of ovs-vswitchd's userspace datapath, not
 * the openvswitch module's families. `ovsdp NAME` says so (exit 2).
 */
export const dpctlOnlyCommands: Record<string, string> = {
  'dump-conntrack': conntrackTable('"conntrack -L" lists it, "conntrack -L -w ZONE" one zone'),
  'flush-conntrack': conntrackTable('"conntrack -F" empties it, "conntrack -D -w ZONE" one zone'),
  'ct-stats-show': conntrackTable('"conntrack -C" counts its entries, "conntrack -S" gives per-CPU statistics'),
  'ct-bkts': 'The kernel\'s conntrack hash table has "sysctl net.netfilter.nf_conntrack_buckets" buckets.',
  'ct-set-maxconns': userspaceOnly('net.netfilter.nf_conntrack_max=N'),
  'ct-get-maxconns': userspaceOnly('net.netfilter.nf_conntrack_max'),
  'ct-get-nconns': userspaceOnly('net.netfilter.nf_conntrack_count'),
  'ct-enable-tcp-seq-chk': userspaceOnly('net.netfilter.nf_conntrack_tcp_be_liberal=0'),
  'ct-disable-tcp-seq-chk': userspaceOnly('net.netfilter.nf_conntrack_tcp_be_liberal=1'),
  'ct-get-tcp-seq-chk': userspaceOnly('net.netfilter.nf_conntrack_tcp_be_liberal'),
  'ipf-set-enabled': FRAGMENTS,
  'ipf-set-disabled': FRAGMENTS,
  'ipf-set-min-frag': FRAGMENTS,
  'ipf-set-max-nfrags': FRAGMENTS,
  'ipf-get-status': FRAGMENTS,
  'offload-stats-show': 'Hardware offload statistics of the userspace datapath; the kernel datapath has none.',
  'parse-actions': FLOW_TEXT,
  'normalize-actions': FLOW_TEXT,
  'list-commands': '"ovsdp --help" lists the commands.',
};
