/**
 * The whole requests our library sends, against the golden fixtures: for each ovs-dpctl
 * command captured, the library call that does the same (createDatapath for add-dp,
 * addVport for add-if, FlowTable.put for add-flow, ...) runs against a fake kernel
 * (fake-kernel.ts) and the messages of the fixture's family and commands that it sends
 * must be the fixture's, byte for byte, with two exceptions that are the socket's policy
 * and not the request's: NLM_F_ACK (our socket asks every request for an ACK; ovs-dpctl
 * never does) and NLM_F_ECHO (ovs-dpctl asks for an echo on every request; the library only
 * where it reads the reply). Sequence numbers and port ids are zero in both.
 *
 * Fixtures marked expected_to_differ must differ; flows the library refuses before
 * sending (src/ovs/flow-check.ts) must be ones the kernel refused from ovs-dpctl too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deleteCtLimits, getCtLimits, setCtLimits } from '../../../src/client/ct-limits.js';
import { createDatapath, deleteDatapath, getDatapath, listDatapaths, setDatapath } from '../../../src/client/datapaths.js';
import { FlowTable } from '../../../src/client/flows.js';
import { parseFlowMatch, parseFlowText } from '../../../src/client/flow-text.js';
import { addVport, deleteVport, listVports, setVport } from '../../../src/client/vports.js';
import type { OvsConnection } from '../../../src/client/connection.js';
import { parseIfaceSpec } from '../../../src/cli/dp-args.js';
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_ECHO, parseMessages } from '../../../src/nl/message.js';
import { FlowCheckError } from '../../../src/ovs/flow-check.js';
import { FakeKernel } from './fake-kernel.js';
import { FAMILY_SPECS, FLOW_DP_PORTS, type Fixture, loadFixtures, messageBytes } from './fixtures.js';

type Scenario = (conn: OvsConnection, dp: { name: string; ifindex: number }, f: Fixture) => Promise<unknown>;

/** The command line's words (the captured commands quote only flow texts, which are not read here). */
function words(f: Fixture): string[] {
  return f.json.command.split(' ');
}

/** The library call for each datapath and port command that was captured. */
const DP_SCENARIOS: Readonly<Record<string, Scenario>> = {
  'ovs_datapath/add-dp': (conn) => createDatapath(conn, 'dp1'),
  'ovs_datapath/del-dp': (conn) => deleteDatapath(conn, 'dp1'),
  'ovs_datapath/dump-dps': (conn) => listDatapaths(conn),
  'ovs_datapath/show': (conn) => listDatapaths(conn),
  'ovs_datapath/show-dp': (conn) => getDatapath(conn, 'dp1'),
  'ovs_datapath/cache-set-size': (conn) => setDatapath(conn, 'dp1', { masksCacheSize: 512 }),
  'ovs_vport/show': (conn, dp) => listVports(conn, dp),
  // The limits are the network namespace's: a DP argument changes nothing in the request.
  'ovs_ct_limit/ct-set-limits': (conn) => setCtLimits(conn, { defaultLimit: 100, zones: [{ zone: 1, limit: 10 }, { zone: 3, limit: 0 }] }),
  'ovs_ct_limit/ct-set-limits-dp': (conn) => setCtLimits(conn, { zones: [{ zone: 1, limit: 5 }] }),
  'ovs_ct_limit/ct-get-limits': (conn) => getCtLimits(conn),
  'ovs_ct_limit/ct-get-limits-zones': (conn) => getCtLimits(conn, [1, 2]),
  'ovs_ct_limit/ct-del-limits': (conn) => deleteCtLimits(conn, [1, 3]),
};

function vportScenario(f: Fixture): Scenario | undefined {
  const [, verb, , arg] = words(f);
  if (verb === 'add-if') {
    const spec = parseIfaceSpec(arg!);
    return (conn, dp) => addVport(conn, dp, spec.name, {
      type: spec.type ?? 'netdev', options: spec.options, ...(spec.portNo !== undefined ? { portNo: spec.portNo } : {}),
    });
  }
  if (verb === 'del-if') return (conn, dp) => deleteVport(conn, dp, arg!);
  if (verb === 'set-if') {
    const spec = parseIfaceSpec(arg!);
    return (conn, dp) => setVport(conn, dp, spec.name, spec.options.dstPort !== undefined ? { options: spec.options } : {});
  }
  return undefined;
}

/** The flow command's FlowTable call: add-flow, mod-flow [--clear] [-s] [--may-create], del-flow, get-flow, dump-flows, del-flows. */
function flowScenario(f: Fixture): Scenario | undefined {
  const w = words(f);
  const verb = w.find((x, i) => i > 0 && !x.startsWith('-'));
  const options = { portNumbers: FLOW_DP_PORTS };
  const table = (conn: OvsConnection, dp: { name: string; ifindex: number }) => new FlowTable(conn, dp, { kernelLog: false });
  switch (verb) {
    case 'add-flow':
      return (conn, dp) => table(conn, dp).put(parseFlowText(f.json.flow!, f.json.actions!, options));
    case 'mod-flow':
      return (conn, dp) => table(conn, dp).put(parseFlowText(f.json.flow!, f.json.actions!, options), {
        mode: w.includes('--may-create') ? 'upsert' : 'modify', clear: w.includes('--clear'), echo: w.includes('-s'),
      });
    case 'del-flow':
      return (conn, dp) => table(conn, dp).del(parseFlowMatch(f.json.flow!, options));
    case 'get-flow':
      return (conn, dp) => table(conn, dp).get(parseFlowMatch(f.json.flow!, options));
    case 'dump-flows':
      return (conn, dp) => table(conn, dp).list();
    case 'del-flows':
      return (conn, dp) => table(conn, dp).flush();
    default:
      return undefined;
  }
}

function scenario(f: Fixture): Scenario | undefined {
  if (f.family === 'ovs_flow') return flowScenario(f);
  return DP_SCENARIOS[f.id] ?? (f.family === 'ovs_vport' ? vportScenario(f) : undefined);
}

/** A message's hex with NLM_F_ACK and NLM_F_ECHO cleared (see the top of this file). */
function normalized(bytes: Buffer): string {
  const out = Buffer.from(bytes);
  out.writeUInt16LE(out.readUInt16LE(6) & ~(NLM_F_ACK | NLM_F_ECHO), 6);
  return out.toString('hex');
}

/** Family ids as the capture recorded them (the fake kernel hands them out). */
function familyIds(): Record<string, number> {
  const ids: Record<string, number> = {};
  for (const f of loadFixtures()) ids[f.family] = f.json.family_id;
  return ids;
}

/** What the library sent for the fixture's scenario: the messages of the fixture's family, commands and dump-ness. */
async function ourMessages(f: Fixture, run: Scenario): Promise<{ sent: string[]; error?: unknown }> {
  const dpIfindex = f.json.messages.find((m) => m.dp_ifindex)?.dp_ifindex ?? 1;
  const kernel = new FakeKernel({ familyIds: familyIds(), dpIfindex });
  const name = f.family === 'ovs_vport' ? 'dpv' : f.family === 'ovs_flow' ? 'dpf' : 'dp1';
  let error: unknown;
  try {
    await run(kernel.connection(), { name, ifindex: dpIfindex }, f);
  } catch (e) {
    error = e;
  }
  const spec = FAMILY_SPECS[f.family]!;
  const cmds = new Set(f.json.messages.map((m) => spec.commands[m.cmd]));
  const dumps = new Set(f.messages.map((m) => (m.flags & NLM_F_DUMP) === NLM_F_DUMP));
  const sent = kernel.sent.filter((b) => {
    const [m] = parseMessages(b);
    return m!.type === f.json.family_id && cmds.has(m!.payload[0]!) && dumps.has((m!.flags & NLM_F_DUMP) === NLM_F_DUMP);
  });
  return { sent: sent.map(normalized), ...(error !== undefined ? { error } : {}) };
}

const withScenario = loadFixtures().filter((f) => scenario(f) !== undefined);

test('golden requests: a library scenario for every fixture', () => {
  const without = loadFixtures().filter((f) => scenario(f) === undefined).map((f) => f.id);
  assert.deepEqual(without, []);
});

for (const f of withScenario) {
  test(`golden ${f.id}: the library sends the request ovs-dpctl sent`, async () => {
    const ours = await ourMessages(f, scenario(f)!);
    const theirs = f.messages.map((m) => normalized(messageBytes(f, m)));
    if (ours.error instanceof FlowCheckError) {
      // Refused before sending, with a reason: the kernel refused ovs-dpctl's request too.
      assert.notEqual(f.json.exit_status, 0, `we refuse what the kernel took from ovs-dpctl: ${ours.error.message}`);
      return;
    }
    if (f.json.expected_to_differ !== undefined) {
      assert.notDeepEqual(ours.sent, theirs, `${f.id} is marked expected_to_differ (${f.json.expected_to_differ}) but we send the same`);
      return;
    }
    assert.deepEqual(ours.sent, theirs, ours.error ? `(the library threw: ${String(ours.error)})` : undefined);
  });
}
