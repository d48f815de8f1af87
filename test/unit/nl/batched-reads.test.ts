/**
 * Reading in batches (GenlSocket.readInBatches, batched-reads.ts) against the host
 * kernel's nlctrl: a batch of requests gets one reply datagram each, all queued by the
 * time its sendmsg returns, so the binding reads the first and recvmmsg the rest. The
 * answers must be what a socket reading datagram by datagram gets.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { GenlSocket } from '../../../src/nl/socket.js';
import { batchedReadsSupported } from '../../../src/nl/batched-reads.js';
import { ctrlFamily, decodeGenlMessage, genlRequest } from '../../../src/nl/family.js';
import { GENL_ID_CTRL } from '../../../src/nl/message.js';

const getFamily = (name: string) => genlRequest(ctrlFamily, GENL_ID_CTRL, 'getfamily', { attrs: { family_name: name } });
/** Requests for nlctrl, with a family that does not exist every tenth. */
const requests = Array.from({ length: 100 }, (_, i) => getFamily(i % 10 === 9 ? 'no such family' : 'nlctrl'));

/** What each request got: the family's name, or the error's code. */
async function answers(sock: GenlSocket): Promise<string[]> {
  const results = await sock.batch(requests);
  return results.map((r) => r.error?.code ?? String(decodeGenlMessage(ctrlFamily, r.replies[0]!).attrs['family_name']));
}

test('reading in batches: the answers of a batch are those datagram by datagram, most read by recvmmsg', { skip: !batchedReadsSupported() }, async () => {
  const plain = new GenlSocket();
  const batched = new GenlSocket();
  try {
    assert.equal(batched.batchedReads, undefined);
    assert.equal(await batched.readInBatches(), true);
    const expected = await answers(plain);
    assert.equal(expected.filter((a) => a === 'nlctrl').length, 90);
    assert.deepEqual(await answers(batched), expected);
    const counts = batched.batchedReads!;
    // 100 datagrams (90 replies, 10 errors); the binding read the first.
    assert.equal(counts.datagrams, 99);
    assert.ok(counts.reads >= 4, `32 datagrams a recvmmsg: ${JSON.stringify(counts)}`);
    // Again, the slots reused: the first batch's Buffers were copies.
    assert.deepEqual(await answers(batched), expected);
    assert.equal(batched.batchedReads!.datagrams, 198);
  } finally {
    plain.close();
    batched.close();
  }
});

test('reading in batches: datagrams larger than the read size are reported lost, as the binding reports its own', { skip: !batchedReadsSupported() }, async () => {
  // A read size that takes the first answer (an error, which is short) and not nlctrl's
  // replies: the binding reads the first, recvmmsg finds the others cut.
  const sock = new GenlSocket({ maxDatagramSize: 100 });
  const overruns: string[] = [];
  sock.on('overrun', (err) => overruns.push(err.message));
  try {
    await sock.readInBatches();
    await assert.rejects(sock.batch([getFamily('no such family'), getFamily('nlctrl'), getFamily('nlctrl')]), { code: 'EMSGSIZE' });
    // The two replies, cut, and the batch's ACK.
    assert.equal(sock.batchedReads!.datagrams, 3);
    assert.equal(overruns.length, 2, overruns.join('\n'));
    assert.ok(overruns.every((m) => /^a \d+-byte netlink message did not fit the 100-byte read buffer/.test(m)), overruns.join('\n'));
  } finally {
    sock.close();
  }
});

test('reading in batches: closing the socket frees the reader, and a closed socket does not start one', { skip: !batchedReadsSupported() }, async () => {
  const sock = new GenlSocket();
  await sock.readInBatches();
  sock.close();
  assert.equal(sock.batchedReads, undefined);
  const other = new GenlSocket();
  const opening = other.readInBatches();
  other.close();
  assert.equal(await opening.catch(() => false), false);
  assert.equal(other.batchedReads, undefined);
});
