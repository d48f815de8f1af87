/**
 * What run.mjs (the host side of `npm run bench`) and vm.mjs (its VM side) share: the
 * options the VM run takes, which run.mjs passes on, how a command line is read, and the
 * mark of the line that carries vm.mjs's results back.
 */
import { parseArgs } from 'node:util';

export const VM_OPTIONS = {
  reps: { type: 'string', default: '3' },
  flows: { type: 'string', default: '20000' },
  big: { type: 'string', default: '200000' },
  only: { type: 'string' },
  profile: { type: 'boolean', default: false },
};

export const RESULT_MARK = 'BENCH-RESULT ';

/** The VM run's sections, in the order it runs them (--only takes some of them). */
export const SECTIONS = ['startup', 'bulk', 'floor', 'latency', 'big', 'misses'];

/**
 * The options of this process's command line, by parseArgs' `options`; `--help` prints
 * `usage` and exits. A mistake (an unknown option, a count that is no positive whole
 * number, an unknown section) is one line on stderr and exit 2, before anything is
 * measured: a VM boot is not wasted on a typo.
 */
export function commandLine(options, usage) {
  let values;
  try {
    ({ values } = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    fail(err.message);
  }
  if (values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  for (const name of ['reps', 'flows', 'big', 'codec-processes']) {
    if (values[name] !== undefined && !/^[1-9][0-9]*$/.test(values[name])) fail(`--${name} takes a positive whole number, not "${values[name]}"`);
  }
  const unknown = values.only?.split(',').filter((s) => !SECTIONS.includes(s));
  if (unknown?.length) fail(`--only: no section "${unknown[0]}" (sections: ${SECTIONS.join(', ')})`);
  return values;

  function fail(message) {
    process.stderr.write(`bench: ${message}\n${usage.split('\n')[0]}\n(--help tells more)\n`);
    process.exit(2);
  }
}
