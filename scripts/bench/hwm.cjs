// Preloaded into a benchmarked node process (NODE_OPTIONS=--require): at exit, appends the
// process's peak resident memory (VmHWM, kB) to the file OVSDP_BENCH_HWM names.
'use strict';
const fs = require('node:fs');

const out = process.env.OVSDP_BENCH_HWM;
if (out) {
  process.on('exit', () => {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) fs.appendFileSync(out, `${m[1]}\n`);
  });
}
