// The library examples of README.md and docs/*.md (each ```ts block that imports 'ovsdp'),
// run as written against a datapath in the VM: they are what a newcomer copies first.
// A block runs as its own program that imports the package by its name. What it leaves
// to the reader is given it: the values it uses without making them (specs, conn,
// packet), and the datapath's name in place of 'dp0'. An upcall listener it opens gets
// a packet to report and is closed from outside, as the reader's program would close it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { udpFrame } from '../frames.js';
import { type Host, rxPackets, sendUdp, withTwoHosts } from './two-hosts.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface Example {
  /** file:block number, for the test's name */
  where: string;
  code: string;
}

function examples(): Example[] {
  const files = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
  return files.flatMap((file) => [...readFileSync(join(root, file), 'utf8').matchAll(/^```ts\n([\s\S]*?)^```$/gm)]
    .map((m, i) => ({ where: `${file} block ${i + 1}`, code: m[1]! }))
    .filter((e) => /from 'ovsdp'/.test(e.code)));
}

/**
 * Whether `code` uses `name` without declaring it: as a plain name, in a destructuring
 * (`const { conn } = ...`), or as a parameter (`(conn) =>`, `function f(conn)`).
 */
const usesUndeclared = (code: string, name: string): boolean =>
  new RegExp(`\\b${name}\\b`).test(code)
  && !new RegExp(`\\b(const|let|var)\\s+(${name}\\b|[[{][^=]*\\b${name}\\b[^=]*[\\]}]\\s*=)`).test(code)
  && !new RegExp(`\\([^()]*\\b${name}\\b[^()]*\\)\\s*(=>|\\{)`).test(code);

/** Marks the harness's lines in the child's output. */
const MARK = '@@';

/** The program: what the block leaves to the reader, then the block itself. */
function program(code: string, datapath: string, packet: Buffer): string {
  const prelude = [`import * as harness from 'ovsdp';`];
  const epilogue: string[] = [];
  for (const name of ['specs', 'manySpecs']) {
    if (usesUndeclared(code, name)) {
      prelude.push(`const ${name} = ['10.9.0.1', '10.9.0.2'].map((ip) => harness.parseFlowText(\`in_port(1),eth(),eth_type(0x0800),ipv4(src=\${ip},frag=no)\`, '2'));`);
    }
  }
  if (usesUndeclared(code, 'conn')) {
    prelude.push('const conn = new harness.OvsConnection();');
    epilogue.push('conn.close();');
  }
  if (usesUndeclared(code, 'packet')) prelude.push(`const packet = Buffer.from('${packet.toString('hex')}', 'hex');`);
  // A listener says when it is open (the test then sends a packet) and closes on SIGUSR2.
  // The class is the package's own, changed in this child program only (as a test double
  // would): the example's code runs as written.
  prelude.push(`
const open = harness.UpcallListener.open.bind(harness.UpcallListener);
harness.UpcallListener.open = async (...args) => {
  const listener = await open(...args);
  process.once('SIGUSR2', () => { listener.close(); });
  process.stdout.write('${MARK}listening\\n');
  return listener;
};`);
  return [...prelude, code.replace(/(['"`])dp0\1/g, `$1${datapath}$1`), ...epilogue].join('\n');
}

/** Runs the program in `dir`; with a listener, sends a packet a -> b once it listens, then ends it. */
function run(dir: string, source: string, hosts: { a: Host; b: Host }): Promise<{ code: number | null; out: string; err: string }> {
  const file = join(dir, `example-${Date.now()}.mjs`);
  writeFileSync(file, source);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(`${MARK}listening\n`) && !out.includes(`${MARK}sent`)) {
        out += `${MARK}sent\n`;
        // One packet from a to b: a miss (the datapath has no flow for it) for the listener.
        sendUdp(hosts.a, hosts.b, 7000)
          .then(() => new Promise((r) => setTimeout(r, 2000)))
          .then(() => child.kill('SIGUSR2'), reject);
      }
    });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

test('the library examples of the README and docs run as written', async (t) => {
  const found = examples();
  // README's library section, flows.md's, and upcalls.md's listener and execute.
  assert.ok(found.length >= 4, `found ${found.length} examples: ${found.map((e) => e.where).join(', ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'ovsdp-docs-'));
  // The package by its name, as an installed one: node_modules/ovsdp is this checkout.
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules', 'ovsdp'));
  try {
    for (const example of found) {
      await t.test(example.where, async () => {
        await withTwoHosts('docx', async ({ dp, a, b }) => {
          assert.deepEqual([a.portNo, b.portNo], [1, 2], 'the examples name ports 1 and 2');
          const packet = udpFrame(a.mac, b.mac, a.ip, b.ip, 40000, 7000);
          const before = await rxPackets(b);
          const r = await run(dir, program(example.code, dp.name, packet), { a, b });
          t.diagnostic(`${example.where}:\n${r.out}${r.err}`);
          assert.equal(r.code, 0, `exit ${r.code}: ${r.err}`);
          assert.equal(r.err, '', 'nothing on stderr');
          if (/UpcallListener\.open/.test(example.code)) assert.match(r.out, /^miss 1 /m, 'the listener printed the miss');
          if (/\bexecute\(/.test(example.code)) assert.equal(await rxPackets(b), before + 1, 'execute delivered the packet to port 2');
        });
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
