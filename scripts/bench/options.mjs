/**
 * What run.mjs (the host side of `npm run bench`) and vm.mjs (its VM side) share: the
 * options the VM run takes, which run.mjs passes on, and the mark of the line that carries
 * vm.mjs's results back.
 */
export const VM_OPTIONS = {
  reps: { type: 'string', default: '3' },
  flows: { type: 'string', default: '20000' },
  big: { type: 'string', default: '200000' },
  only: { type: 'string' },
  profile: { type: 'boolean', default: false },
};

export const RESULT_MARK = 'BENCH-RESULT ';
