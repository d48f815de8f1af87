#!/usr/bin/env node
// `npm test`: type-check and build, unit tests on the host, then every kernel test in one
// VM. Under CI=true a VM that cannot start fails the run; elsewhere it is a loud skip.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const inCI = process.env.CI === 'true' || process.env.CI === '1';
/** vm/run's exit code when the VM itself could not start or timed out. */
const VM_FAILED = 125;

function run(cmd, args, { scan } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', scan ? 'pipe' : 'inherit', 'inherit'] });
    let text = '';
    if (scan) {
      child.stdout.on('data', (chunk) => {
        process.stdout.write(chunk);
        text += chunk.toString();
      });
    }
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), text }));
  });
}

/** The pass/fail/skip counts node's spec reporter prints last. */
function counts(text) {
  const get = (name) => {
    const all = [...text.matchAll(new RegExp(`^\\S* ?${name} (\\d+)$`, 'gm'))];
    return all.length ? Number(all[all.length - 1][1]) : 0;
  };
  return { passed: get('pass'), failed: get('fail'), skipped: get('skipped') + get('todo') };
}

const testArgs = ['--test', '--test-reporter=spec'];

const build = await run('npx', ['tsc', '-p', 'tsconfig.json']);
if (build.code !== 0) {
  console.error('npm test: the type-check failed');
  process.exit(1);
}

console.log('\n== unit tests (host) ==');
const unit = await run(process.execPath, [...testArgs, 'dist/test/unit/'], { scan: true });
const unitCounts = counts(unit.text);

console.log('\n== kernel tests (in the VM) ==');
let kernelCounts = { passed: 0, failed: 0, skipped: 0 };
let kernelFailed = false;
if (!existsSync(path.join(root, 'dist/test/kernel'))) {
  console.log('no kernel tests built');
} else {
  const kernel = await run(path.join(root, 'vm/run'), ['--', process.execPath, ...testArgs, 'dist/test/kernel/'], { scan: true });
  kernelCounts = counts(kernel.text);
  if (kernel.code === VM_FAILED) {
    if (inCI) {
      console.error('npm test: the VM could not start, and under CI=true that is a failure');
      kernelFailed = true;
    } else {
      console.error('npm test: WARNING: the VM could not start; the kernel tests were SKIPPED');
    }
  } else if (kernel.code !== 0) {
    kernelFailed = true;
  }
  console.log(`kernel tests: ${kernelCounts.passed + kernelCounts.failed} ran in the VM`);
}

const passed = unitCounts.passed + kernelCounts.passed;
const failed = unitCounts.failed + kernelCounts.failed;
console.log(`\nunit: ${unitCounts.passed} passed, ${unitCounts.failed} failed; kernel: ${kernelCounts.passed} passed, ${kernelCounts.failed} failed`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(unit.code !== 0 || kernelFailed || failed > 0 ? 1 : 0);
