/** Conntrack zone limits' library side: what is checked before sending, and a kernel without the family. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OvsConnection } from '../../../src/client/connection.js';
import { deleteCtLimits, getCtLimits, setCtLimits } from '../../../src/client/ct-limits.js';
import { explain } from '../../../src/client/errors.js';
import { NetlinkError, errnoNumber } from '../../../src/nl/errors.js';
import { FamilyNotFoundError } from '../../../src/nl/family.js';

const ENOENT = errnoNumber('ENOENT')!;

/** A connection whose families are `present`; a request of another fails as OvsConnection's do (explained). */
function connection(present: readonly string[], requests: unknown[] = []): OvsConnection {
  const family = async (spec: { name: string }) => {
    if (present.includes(spec.name)) return { id: 40, name: spec.name, version: 1, hdrsize: 4, maxattr: 1, groups: [] };
    throw explain(new FamilyNotFoundError(spec.name, new NetlinkError(ENOENT, 'no such family')));
  };
  return {
    family,
    request: async (spec: { name: string }, command: string, options: unknown) => {
      await family(spec);
      requests.push({ command, options });
      return [];
    },
  } as unknown as OvsConnection;
}

test('a module without ovs_ct_limit is told apart from no module at all', async () => {
  await assert.rejects(getCtLimits(connection(['ovs_datapath'])), /has no conntrack zone limits \(no ovs_ct_limit family: built without CONFIG_NETFILTER_CONNCOUNT\)/);
  await assert.rejects(getCtLimits(connection([])), /the openvswitch kernel module is not loaded/);
});

test('zones and limits are checked before anything is sent, naming the value', async () => {
  const sent: unknown[] = [];
  const conn = connection(['ovs_ct_limit'], sent);
  const bad: [() => Promise<unknown>, RegExp][] = [
    [() => getCtLimits(conn, [70000]), /conntrack zone 70000 is no zone: zones are 0 to 65535/],
    [() => getCtLimits(conn, ['1' as unknown as number]), /conntrack zone "1" \(not a number\) is no zone/],
    [() => getCtLimits(conn, [5n as unknown as number]), /conntrack zone bigint \(not a number\) is no zone/],
    [() => setCtLimits(conn, { zones: [{ zone: 1, limit: null as unknown as number }] }), /zone 1's limit null \(not a number\) is no connection count/],
    [() => setCtLimits(conn, { defaultLimit: -1 }), /the default limit -1 is no connection count: limits are 0 \(none\) to 4294967295/],
    [() => setCtLimits(conn, { zones: [{ zone: 5, limit: 1.5 }] }), /zone 5's limit 1\.5 is no connection count/],
    [() => setCtLimits(conn, {}), /no limit to set/],
    [() => deleteCtLimits(conn, []), /no zone to delete/],
  ];
  for (const [call, message] of bad) await assert.rejects(call(), (e: unknown) => e instanceof RangeError && message.test(e.message), String(message));
  assert.deepEqual(sent, []);
  // The default first, as ovs-dpctl asks; no reply is no limit.
  assert.deepEqual(await getCtLimits(conn, [1, 2]), { defaultLimit: 0, zones: [] });
  assert.deepEqual(sent, [{ command: 'get', options: { header: { dp_ifindex: 0 }, attrs: { zone_limit: [-1, 1, 2].map((zone_id) => ({ zone_id, limit: 0, count: 0 })) } } }]);
});
