/**
 * The round trips a flow command makes before its work: the bundle (dist/bundle/cli.js)
 * run against the build's stand-in kernel (scripts/bundle-cache-kernel.cjs), every
 * request it sends recorded in order.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const bundle = join(root, 'dist/bundle/cli.js');
const cjsRequire = createRequire(import.meta.url);
type NativeNetlinkClass = new (...args: unknown[]) => { send(port: number, groups: number, datagram: Buffer, callback: unknown): void };
const { NativeNetlink, DATAPATH_NAME, standInRequire } = cjsRequire(join(root, 'scripts/bundle-cache-kernel.cjs')) as {
  NativeNetlink: NativeNetlinkClass;
  DATAPATH_NAME: string;
  standInRequire: (bundleRequire: NodeJS.Require, native: NativeNetlinkClass) => NodeJS.Require;
};

const GENL_ID_CTRL = 0x10;
const NLM_F_DUMP = 0x300;
const FAMILY_IDS: Record<number, string> = { 36: 'ovs_datapath', 37: 'ovs_vport', 38: 'ovs_flow' };

/** What each request sent was: "family ovs_flow" for nlctrl's GETFAMILY, else "ovs_datapath dump" / "ovs_flow request". */
const sent: string[] = [];

class RecordingNetlink extends NativeNetlink {
  override send(port: number, groups: number, datagram: Buffer, callback: unknown): void {
    for (let at = 0; at + 16 <= datagram.length;) {
      const len = datagram.readUInt32LE(at);
      const type = datagram.readUInt16LE(at + 4);
      if (type === GENL_ID_CTRL) {
        // nlmsghdr, genlmsghdr, then CTRL_ATTR_FAMILY_NAME: its header and the name.
        sent.push(`family ${datagram.toString('latin1', at + 24, at + len).replace(/\0.*$/s, '')}`);
      } else {
        sent.push(`${FAMILY_IDS[type] ?? type} ${datagram.readUInt16LE(at + 6) & NLM_F_DUMP ? 'dump' : 'request'}`);
      }
      at += (len + 3) & ~3;
    }
    super.send(port, groups, datagram, callback);
  }

  /** With noFamilies, nlctrl knows no family: a kernel without the openvswitch module. */
  answer(type: number, flags: number, seq: number, payload: Buffer): Buffer[] {
    if (noFamilies && type === GENL_ID_CTRL) return [];
    return (NativeNetlink.prototype as unknown as { answer: RecordingNetlink['answer'] }).answer.call(this, type, flags, seq, payload);
  }
}
let noFamilies = false;

const requireForTest = standInRequire(createRequire(bundle), RecordingNetlink);

// As bin/ovsdp: no bundle, or tsc wrote after it, and the bundle is not the code under test.
const built = statSync(bundle, { throwIfNoEntry: false })?.mtimeMs;
const skip = built === undefined || built < (statSync(join(root, 'dist/.tsbuildinfo'), { throwIfNoEntry: false })?.mtimeMs ?? 0)
  ? 'no bundle as new as tsc\'s output (npm run build makes one)' : false;
const cli = { exports: {} as { main: (argv: string[]) => Promise<number> } };
if (!skip) new vm.Script(readFileSync(bundle, 'latin1'), { filename: bundle }).runInThisContext()(cli.exports, requireForTest, cli, bundle, join(root, 'dist/bundle'));

/** What `ovsdp ARGS` exits with, writes to stderr (kept out of the test's output) and sends. */
async function runCli(...args: string[]): Promise<{ code: number; stderr: string; requests: string[] }> {
  sent.length = 0;
  const write = process.stderr.write;
  let stderr = '';
  process.stderr.write = ((text: string) => {
    stderr += text;
    return true;
  }) as typeof process.stderr.write;
  // main() answers process.exitCode, which the test runner sets once a test fails.
  const exitCode = process.exitCode;
  process.exitCode = undefined;
  try {
    return { code: await cli.exports.main(['node', 'ovsdp', ...args]), stderr, requests: [...sent] };
  } finally {
    process.stderr.write = write;
    process.exitCode = exitCode;
  }
}

/** The requests `ovsdp ARGS` sends, succeeding. */
async function requestsOf(...args: string[]): Promise<string[]> {
  const { code, stderr, requests } = await runCli(...args);
  assert.equal(code, 0, stderr);
  return requests;
}

const flow = 'in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,frag=no),tcp(src=1,dst=2),tcp_flags(0/0)';
const dir = mkdtempSync(join(tmpdir(), 'flow-args-'));
const files: Record<string, string> = { 'add-flows': join(dir, 'flows'), 'mod-flows': join(dir, 'flows'), 'del-flows': join(dir, 'keys') };
writeFileSync(files['add-flows']!, `${flow} drop\n`);
writeFileSync(files['del-flows']!, `${flow}\n`);

test('a flow file that names no port: its command asks for no ovs_vport id and lists no ports', { skip }, async () => {
  for (const [command, file] of Object.entries(files)) {
    const requests = await requestsOf(command, DATAPATH_NAME, file);
    assert.deepEqual(requests, ['family ovs_flow', 'family ovs_datapath', 'ovs_datapath dump', 'ovs_flow request'], command);
  }
});

test('a command that lists no ports asks for no ovs_vport id', { skip }, async () => {
  // One argument: the datapath to flush.
  // The flush first: the add-flow below then finds no flow of the test before.
  assert.deepEqual(await requestsOf('del-flows', DATAPATH_NAME), ['family ovs_flow', 'family ovs_datapath', 'ovs_datapath dump', 'ovs_flow request']);
  assert.deepEqual(await requestsOf('add-flow', DATAPATH_NAME, flow, 'drop'), ['family ovs_flow', 'family ovs_datapath', 'ovs_datapath dump', 'ovs_flow request']);
});

test('a flow or action where the datapath goes is a usage error, named, before any request', { skip }, async () => {
  for (const [args, hint] of [
    [['add-flow', flow, 'drop', 'extra'], /an argument too many/],
    [['del-flow', flow, 'drop'], /an argument too many/],
    [['del-flow', 'ufid:12345678-1234-5678-9abc-def012345678', flow], /ufid:ID,FLOW/],
    [['execute', 'ct(commit)', '2', '00'], /an argument too many/],
  ] as const) {
    const { code, stderr, requests } = await runCli(...args);
    assert.equal(code, 2, args.join(' '));
    assert.match(stderr, /with \d arguments the first is the datapath, and ".*" is not a datapath name/, args.join(' '));
    assert.match(stderr, hint, args.join(' '));
    assert.deepEqual(requests, [], args.join(' '));
  }
});

test('a flow argument that does not parse is reported, with its place, before any request', { skip }, async () => {
  for (const args of [
    ['get-flow', 'nosuchdp', 'ufid:xyz'],
    ['add-flow', DATAPATH_NAME, 'in_port(1),bogus(2)', 'drop'],
    ['add-flow', 'in_port(1),eth_type(0x0800)', 'ct(zone=x)'],
    ['mod-flow', 'nosuchdp', 'in_port(1),ipv4(src=10.0.0.1,bogus=3)', 'drop'],
    ['del-flow', 'in_port(1),eth_tpe(0x0800)'],
  ]) {
    const { code, stderr, requests } = await runCli(...args);
    assert.equal(code, 1, args.join(' '));
    assert.match(stderr, /^ovsdp: column \d+: .*\n.*\n *\^\n$/, args.join(' '));
    assert.deepEqual(requests, [], args.join(' '));
  }
  // Where the first argument may be a datapath, the flow's place depends on which exist:
  // the kernel is asked first, as ovs-dpctl does.
  const { code, stderr, requests } = await runCli('del-flow', 'nosuchdp');
  assert.equal(code, 1);
  assert.match(stderr, /nosuchdp/);
  assert.notDeepEqual(requests, []);
});

test('families with no OVS family fails, with --json too (an empty list, then exit 1)', { skip }, async () => {
  noFamilies = true;
  try {
    for (const args of [['families'], ['families', '--json']]) {
      const { code, stderr } = await runCli(...args);
      assert.equal(code, 1, args.join(' '));
      assert.match(stderr, /the openvswitch kernel module is not loaded/, args.join(' '));
    }
  } finally {
    noFamilies = false;
  }
});

test('a flow file that is a directory is named, exit 2', { skip }, async () => {
  for (const command of ['add-flows', 'mod-flows', 'del-flows']) {
    const { code, stderr } = await runCli(command, DATAPATH_NAME, dir);
    assert.equal(code, 2, command);
    assert.equal(stderr, `ovsdp: cannot read ${dir}: it is a directory\n`, command);
  }
});

test('a datapath named with an argument missing after it is a usage error, no crash', { skip }, async () => {
  for (const [args, count, got] of [
    [['add-flow', DATAPATH_NAME, flow], 2, 1],
    [['mod-flow', DATAPATH_NAME, flow], 2, 1],
    [['del-flow', DATAPATH_NAME], 1, 0],
    [['get-flow', DATAPATH_NAME], 1, 0],
    [['add-flows', DATAPATH_NAME], 1, 0],
    [['execute', DATAPATH_NAME, '00'], 1, 0],
  ] as const) {
    const { code, stderr } = await runCli(...args);
    assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
    assert.equal(stderr, `ovsdp: "${DATAPATH_NAME}" names a datapath, so ${count} argument${count === 1 ? '' : 's'} must follow it (got ${got}; see --help)\n`, args.join(' '));
  }
  // del-flows DP alone deletes every flow, as ovs-dpctl's does.
  assert.equal((await runCli('del-flows', DATAPATH_NAME)).code, 0);
});

test('a datapath that does not exist is the kernel\'s state, exit 1 (as show and del-dp)', { skip }, async () => {
  for (const args of [['dump-flows', 'nodp'], ['add-flow', 'nodp', flow, 'drop'], ['get-flow', 'nodp', 'ufid:12345678-1234-5678-9abc-def012345678']]) {
    const { code, stderr } = await runCli(...args);
    assert.equal(code, 1, args.join(' '));
    assert.match(stderr, /^ovsdp: no datapath named nodp \(there are: /, args.join(' '));
  }
});

test('a flow file that is not there is named in plain words, exit 2', { skip }, async () => {
  const { code, stderr } = await runCli('add-flows', DATAPATH_NAME, join(dir, 'absent'));
  assert.equal(code, 2);
  assert.equal(stderr, `ovsdp: cannot read ${join(dir, 'absent')}: no such file\n`);
});
