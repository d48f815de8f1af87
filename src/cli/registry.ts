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
};
