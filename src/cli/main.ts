/**
 * The ovsdp command line: global options, lazy command loading, one way to fail. A
 * command line of plain words for a command that can run without commander (the bulk
 * flow commands, dump-flows) starts without loading it.
 */
import { createRequire } from 'node:module';
import { fs } from '../nl/node-builtins.js';
import { NetlinkError, SchemaError } from '../nl/errors.js';
import { FlowParseError } from '../ovs/flowstr/scanner.js';
import { CliContext, type GlobalOptions, UsageError, endQuietlyOnClosedStdout } from './context.js';
import { commands, dpctlOnlyCommands } from './registry.js';
import { loadColors, stdoutMayColor } from './render/style.js';
import { stdoutFailure, writeStderr, writeStdio } from './stdio.js';

type Commander = typeof import('commander');
let commander: Commander | undefined;

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

function firstCommandName(argv: readonly string[]): string | undefined {
  return argv.slice(2).find((a) => !a.startsWith('-'));
}

function versionLine(): string {
  const { version } = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `ovsdp ${version}`;
}

/** The version line on stdout (written as commander writes it, without its stream). */
function printVersion(): number {
  try {
    writeStdio(1, `${versionLine()}\n`);
    return 0;
  } catch (err) {
    return stdoutFailure(err as NodeJS.ErrnoException);
  }
}

/** A command-line word that is no option ("-" alone is a file: stdin). */
function isPlainArg(arg: string): boolean {
  return arg === '-' || !arg.startsWith('-');
}

/** The program's own options; any other before the command is the command's. */
const PROGRAM_OPTIONS = new Set(['--no-color', '--debug', '--version', '-V', '--help', '-h']);

/**
 * The command line with the command's options moved after its name: ovs-dpctl takes
 * `ovs-dpctl -m dump-flows` as well as `ovs-dpctl dump-flows -m`, and so do we.
 */
function commandOptionsAfterName(argv: readonly string[]): readonly string[] {
  const at = argv.findIndex((a, i) => i >= 2 && !a.startsWith('-'));
  // The first word is no command (an option's value, a typo): commander says what is wrong.
  if (at < 0 || !Object.hasOwn(commands, argv[at]!)) return argv;
  const before = argv.slice(2, at);
  if (before.every((a) => PROGRAM_OPTIONS.has(a))) return argv;
  return [...argv.slice(0, 2), ...before.filter((a) => PROGRAM_OPTIONS.has(a)), argv[at]!, ...before.filter((a) => !PROGRAM_OPTIONS.has(a)), ...argv.slice(at + 1)];
}

export async function main(commandLine: readonly string[] = process.argv): Promise<number> {
  let argv = commandOptionsAfterName(commandLine);
  // `ovsdp help NAME` of no command: commander's error for NAME (with its "did you mean"),
  // where its help command printed the whole help.
  if (argv[2] === 'help' && argv[3] !== undefined && !argv[3].startsWith('-') && !Object.hasOwn(commands, argv[3])) argv = [...argv.slice(0, 2), argv[3]];
  const [first, ...rest] = argv.slice(2);
  // `ovsdp --version` alone: what commander would print, without loading it.
  if ((first === '--version' || first === '-V') && rest.length === 0) return printVersion();
  // An ovs-dpctl command we have none for: what to use instead, where commander would
  // only say that the command is unknown.
  const name = firstCommandName(argv);
  if (name !== undefined && !Object.hasOwn(commands, name) && Object.hasOwn(dpctlOnlyCommands, name)) {
    writeStderr(`ovsdp: ${name} is an ovs-dpctl command that ovsdp does not have.\n  ${dpctlOnlyCommands[name]}\n`);
    return EXIT_USAGE;
  }
  // `ovsdp add-flows dp0 FILE`: no option anywhere, so nothing for commander to parse.
  if (first !== undefined && Object.hasOwn(commands, first) && rest.every(isPlainArg)) {
    const { plain } = await commands[first]!();
    if (plain && rest.length >= plain.minArgs) return runPlain(plain.run, rest);
  }
  // commander is CommonJS: required as such, start-up skips its ESM wrapper and the scan
  // of its exports that importing CommonJS from ESM costs.
  commander ??= createRequire(import.meta.url)('commander') as Commander;
  const { Command } = commander;
  endQuietlyOnClosedStdout();
  const program = new Command('ovsdp')
    .description('Open vSwitch kernel datapath control: datapaths, ports, flows, upcalls, conntrack zone limits.\nCommands and output follow ovs-dpctl; every read command also speaks --json.')
    .option('--no-color', 'never colour the output (also: NO_COLOR=1, or when piped)')
    .option('--debug', 'show stack traces of errors')
    .version(versionLine(), '-V, --version', 'print the version')
    .addHelpText('after', `
"ovsdp help COMMAND" explains a command. Options may also come before the
command, as with ovs-dpctl (ovsdp -m dump-flows). Exit status: 0 done, 1 refused (by
the kernel, or bad input such as a flow string), 2 a command-line mistake.`)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.configureOutput({ writeErr: (s) => writeStderr(s.startsWith('error:') ? `ovsdp: ${s.slice(7)}` : s) });

  const colors = stdoutMayColor() ? await loadColors() : undefined;
  let ctx: CliContext | undefined;
  const context = (): CliContext => (ctx ??= new CliContext(program.opts<GlobalOptions>(), colors));

  // Only the command being run is loaded; --version needs none, and the rest (--help, a
  // mistyped name) all of them, to list them.
  const versionOnly = name === undefined && (argv.includes('--version') || argv.includes('-V'));
  const wanted = name !== undefined && Object.hasOwn(commands, name) ? [name] : versionOnly ? [] : Object.keys(commands);
  for (const n of wanted) (await commands[n]!()).define(program, context);
  program.commands.forEach((c) => c.exitOverride());

  try {
    await program.parseAsync([...argv]);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    return report(err, program.opts<GlobalOptions>().debug === true);
  }
}

/** A command line of plain words, run by the command's own action (registry.ts CommandModule.plain). */
async function runPlain(run: (args: string[], ctx: () => CliContext) => Promise<void>, args: string[]): Promise<number> {
  const colors = stdoutMayColor() ? await loadColors() : undefined;
  let ctx: CliContext | undefined;
  try {
    // No global option was given: the defaults, as commander would have them.
    await run(args, () => (ctx ??= new CliContext({}, colors)));
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    return report(err, false);
  }
}

/** One line on stderr and an exit code; the stack only with --debug. */
function report(err: unknown, debug: boolean): number {
  if (commander && err instanceof commander.CommanderError) {
    // Commander already printed its message (or the help / version).
    return err.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (debug && err instanceof Error) writeStderr(`${err.stack}\n`);
  if (err instanceof UsageError) {
    writeStderr(`ovsdp: ${err.message}\n`);
    return EXIT_USAGE;
  }
  if (err instanceof FlowParseError) {
    // The input with a caret under the offending column, as compilers do.
    writeStderr(`ovsdp: ${err.message}\n  ${err.caret().replace('\n', '\n  ')}\n`);
    return EXIT_FAILURE;
  }
  if (err instanceof NetlinkError) {
    writeStderr(`ovsdp: ${err.message}${err.reason ? ` (${err.reason})` : ''}\n`);
    return EXIT_FAILURE;
  }
  if (err instanceof SchemaError || err instanceof Error) {
    writeStderr(`ovsdp: ${err.message}\n`);
    return EXIT_FAILURE;
  }
  writeStderr(`ovsdp: ${String(err)}\n`);
  return EXIT_FAILURE;
}
