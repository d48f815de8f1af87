/**
 * Every golden fixture (bytes ovs-dpctl 3.1 sent, captured in the VM) decodes to what its
 * .json says, and encodes back to the same bytes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toJSONValue } from '../../../src/nl/codec.js';
import { decodeGenlMessage, genlRequest } from '../../../src/nl/family.js';
import { encodeGenlRequest } from '../../../src/nl/message.js';
import { FAMILY_SPECS, loadFixtures, messageBytes } from './fixtures.js';

const fixtures = loadFixtures();

test('golden fixtures: there are some of every family ovs-dpctl talks to', () => {
  const count = (family: string) => fixtures.filter((f) => f.family === family).length;
  assert.ok(count('ovs_datapath') >= 5, 'ovs_datapath');
  assert.ok(count('ovs_vport') >= 8, 'ovs_vport');
  assert.ok(count('ovs_flow') >= 150, 'ovs_flow');
});

for (const f of fixtures) {
  test(`golden ${f.id}: decodes as its .json says, and encodes back to the same bytes`, () => {
    const spec = FAMILY_SPECS[f.family]!;
    assert.equal(f.json.family, f.family);
    assert.equal(f.messages.length, f.json.messages.length, 'messages in the .hex and the .json');
    f.messages.forEach((m, i) => {
      const want = f.json.messages[i]!;
      assert.equal(m.type, f.json.family_id, `message ${i}: family id`);
      assert.equal(m.seq, 0, `message ${i}: seq is zeroed`);
      assert.equal(m.pid, 0, `message ${i}: pid is zeroed`);
      if (want.decode_error !== undefined) {
        // Bytes our decoder refuses (ovs-dpctl's userspace-only "drop" action): it still does.
        assert.throws(() => decodeGenlMessage(spec, m), (e: unknown) => e instanceof Error && e.message === want.decode_error, `message ${i}`);
        return;
      }
      const decoded = decodeGenlMessage(spec, m);
      assert.deepEqual(
        { cmd: decoded.cmd, nlmsg_flags: m.flags, dp_ifindex: decoded.header['dp_ifindex'], attrs: toJSONValue(decoded.attrs) },
        want, `message ${i}: decoded`,
      );
      const again = encodeGenlRequest(genlRequest(spec, m.type, decoded.cmd, { flags: m.flags, header: decoded.header, attrs: decoded.attrs }), 0);
      assert.equal(again.toString('hex'), messageBytes(f, m).toString('hex'), `message ${i}: encoded again`);
    });
  });
}
