/**
 * src/cli/stdio.ts: stdout and stderr written without making Node's streams, the same
 * bytes as through them, in order once a stream is made. Each case runs in a child
 * process: whether a stream exists is process-wide state.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const stdio = new URL('../../../src/cli/stdio.js', import.meta.url).href;
const main = new URL('../../../src/cli/main.js', import.meta.url).href;

/** Runs `code` (an ES module body with stdio.ts's exports in scope) with fd 1 and 2 as given. */
function child(code: string, stdout: 'pipe' | number = 'pipe', stderr: 'pipe' | number = 'pipe') {
  const body = `import { isTerminal, writeStdio, writeStderr, whenMade } from ${JSON.stringify(stdio)};\n${code}`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', body], { encoding: 'utf8', stdio: ['ignore', stdout, stderr] });
}

test('writeStdio: the text on the fd, as written, stream or not', () => {
  const r = child(`writeStdio(1, 'one\\n'); writeStderr('two\\n'); process.stdout.write('three\\n'); writeStdio(1, 'four ü\\n');`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'one\nthree\nfour ü\n');
  assert.equal(r.stderr, 'two\n');
});

test('writeStdio: once the stream is made, text goes through it (what a test or a command put in its place sees)', () => {
  const r = child(`
    const seen = [];
    process.stderr.write = (text) => { seen.push(String(text)); return true; };
    writeStderr('through the stream\\n');
    writeStdio(1, JSON.stringify(seen));`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), ['through the stream\n']);
  assert.equal(r.stderr, '');
});

test('isTerminal: a pipe, a file and /dev/null are none, and asking makes no stream', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovsdp-stdio-'));
  const file = openSync(join(dir, 'out'), 'w');
  const devNull = openSync('/dev/null', 'w');
  try {
    const code = `
      const made = [];
      whenMade('stdout', () => made.push('stdout'));
      whenMade('stderr', () => made.push('stderr'));
      const answers = [isTerminal(1), isTerminal(2)];
      (await import('node:fs')).writeFileSync(process.env.OUT, JSON.stringify({ answers, made }));`;
    for (const [stdout, stderr] of [['pipe', 'pipe'], [file, devNull], [devNull, file]] as const) {
      const out = join(dir, 'answer');
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { isTerminal, whenMade } from ${JSON.stringify(stdio)};\n${code}`], {
        encoding: 'utf8', stdio: ['ignore', stdout, stderr], env: { ...process.env, OUT: out },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), { answers: [false, false], made: [] });
    }
  } finally {
    closeSync(file);
    closeSync(devNull);
    rmSync(dir, { recursive: true });
  }
});

test('--version and a usage error write without loading the stream modules', () => {
  for (const args of [['--version'], ['add-flows', 'a', 'b', 'c']]) {
    const code = `import { main } from ${JSON.stringify(main)};
      const code = await main(['node', 'ovsdp', ...${JSON.stringify(args)}]);
      const streams = process.moduleLoadList.includes('NativeModule stream');
      (await import('node:fs')).writeSync(2, JSON.stringify({ code, streams }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(r.status, 0, r.stderr);
    const last = r.stderr.slice(r.stderr.lastIndexOf('{'));
    assert.deepEqual(JSON.parse(last), { code: args.length === 1 ? 0 : 2, streams: false }, r.stderr);
  }
});

test('--version to a stdout that cannot be written: one line and exit 1; to a reader gone: exit 0', () => {
  const full = openSync('/dev/full', 'w');
  try {
    const code = `import { main } from ${JSON.stringify(main)};\nprocess.exitCode = await main(['node', 'ovsdp', '--version']);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', stdio: ['ignore', full, 'pipe'] });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'ovsdp: cannot write the output: ENOSPC: no space left on device, write\n');
  } finally {
    closeSync(full);
  }
  // The reader may be gone before the write or not: either way, exit 0 and nothing said.
  const version = `${process.execPath} --input-type=module -e "import { main } from '${main}'; process.exitCode = await main(['node', 'ovsdp', '--version']);"`;
  const gone = spawnSync('bash', ['-c', `set -o pipefail; ${version} | head -c 0`], { encoding: 'utf8' });
  assert.equal(gone.status, 0, gone.stderr);
  assert.equal(gone.stderr, '');
});

test('writeStdout: a pipe gets every byte in order, without the stream modules; a full disk is one line and exit 1; a reader gone, exit 0', () => {
  // 1 MiB in 64 KiB writes: more than a pipe holds, so the writes wait for the reader.
  const code = `import { writeStdout } from ${JSON.stringify(stdio)};
    for (let i = 0; i < 16; i++) await writeStdout(String.fromCharCode(97 + i).repeat(65535) + '\\n', 'latin1');
    const streams = process.moduleLoadList.includes('NativeModule stream');
    (await import('node:fs')).writeSync(2, JSON.stringify({ streams }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 22 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, Array.from({ length: 16 }, (_, i) => `${String.fromCharCode(97 + i).repeat(65535)}\n`).join(''));
  assert.deepEqual(JSON.parse(r.stderr), { streams: false });

  const full = openSync('/dev/full', 'w');
  try {
    const f = spawnSync(process.execPath, ['--input-type=module', '-e', `import { writeStdout } from ${JSON.stringify(stdio)};\nawait writeStdout('text\\n', 'latin1');`], {
      encoding: 'utf8', stdio: ['ignore', full, 'pipe'],
    });
    assert.equal(f.status, 1);
    assert.equal(f.stderr, 'ovsdp: cannot write the output: ENOSPC: no space left on device, write\n');
  } finally {
    closeSync(full);
  }
  const writer = `${process.execPath} --input-type=module -e "import { writeStdout } from '${stdio}'; for (;;) await writeStdout('x'.repeat(4096), 'latin1');"`;
  const gone = spawnSync('bash', ['-c', `set -o pipefail; ${writer} | head -c 10000 > /dev/null`], { encoding: 'utf8' });
  assert.equal(gone.status, 0, gone.stderr);
  assert.equal(gone.stderr, '');
});
