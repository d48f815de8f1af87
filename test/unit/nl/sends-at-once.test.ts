/**
 * Sends made at once (GenlSocket.sendsAtOnce, sendMessagesAtOnce) against the host
 * kernel's nlctrl: a batch's answers are all queued by the time its send returns, so they
 * are read there and then, and the promise is settled when it is returned. The answers
 * must be what sendMessages() gets through the binding.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { type IndexedResult, GenlSocket } from '../../../src/nl/socket.js';
import { batchedReadsSupported } from '../../../src/nl/batched-reads.js';
import { ctrlFamily, decodeGenlMessage, genlRequest } from '../../../src/nl/family.js';
import { GENL_ID_CTRL, NLM_F_REQUEST, encodeGenlRequest } from '../../../src/nl/message.js';

const getFamily = (name: string) => genlRequest(ctrlFamily, GENL_ID_CTRL, 'getfamily', { flags: NLM_F_REQUEST, attrs: { family_name: name } });
/** 50 requests for nlctrl laid out back to back, with a family that does not exist every tenth. */
const batchBytes = (): Buffer => Buffer.concat(Array.from({ length: 50 }, (_, i) => encodeGenlRequest(getFamily(i % 10 === 9 ? 'no such family' : 'nlctrl'), 0)));

/** What each answered request got: its index, then the family's name or the error's code. */
const answers = (results: IndexedResult[]): string[] =>
  results.map((r) => `${r.index}:${r.error?.code ?? String(decodeGenlMessage(ctrlFamily, r.replies[0]!).attrs['family_name'])}`);

/** Whether `promise` is settled after a few turns of the microtask queue (no I/O). */
async function settledWithoutIo(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => { settled = true; }, () => { settled = true; });
  for (let i = 0; i < 3; i++) await Promise.resolve();
  return settled;
}

test('sends at once: the answers are those of sendMessages, settled without a turn of the event loop', { skip: !batchedReadsSupported() }, async () => {
  const plain = new GenlSocket();
  const sock = new GenlSocket();
  try {
    assert.equal(sock.batchesSentAtOnce, undefined);
    assert.equal(await sock.sendsAtOnce(), true);
    const expected = answers(await plain.sendMessages(batchBytes(), 50, []));
    assert.equal(expected.length, 50);
    assert.equal(expected.filter((a) => a.endsWith(':ENOENT')).length, 5);
    const sending = sock.sendMessagesAtOnce(batchBytes(), 50, []);
    assert.equal(await settledWithoutIo(sending), true);
    assert.deepEqual(answers(await sending), expected);
    assert.equal(sock.batchesSentAtOnce, 1);
    // Again: the reader's slots are reused, the answers were copied out.
    assert.deepEqual(answers(await sock.sendMessagesAtOnce(batchBytes(), 50, [])), expected);
    assert.equal(sock.batchesSentAtOnce, 2);
  } finally {
    plain.close();
    sock.close();
  }
});

test('sends at once: with another request awaited, or unprepared, the batch goes through the binding', { skip: !batchedReadsSupported() }, async () => {
  const sock = new GenlSocket();
  const unprepared = new GenlSocket();
  try {
    await sock.sendsAtOnce();
    const earlier = sock.request(getFamily('nlctrl'));
    const [later] = await Promise.all([sock.sendMessagesAtOnce(batchBytes(), 50, []), earlier]);
    assert.equal(sock.batchesSentAtOnce, 0);
    assert.equal(later!.length, 50);
    // Once nothing is awaited, at once again.
    await sock.sendMessagesAtOnce(batchBytes(), 50, []);
    assert.equal(sock.batchesSentAtOnce, 1);
    const sending = unprepared.sendMessagesAtOnce(batchBytes(), 50, []);
    assert.equal((await sending).length, 50);
    assert.equal(unprepared.batchesSentAtOnce, undefined);
  } finally {
    sock.close();
    unprepared.close();
  }
});

test('sends at once: a batch of one refused request rejects nothing and reports the error at its index', { skip: !batchedReadsSupported() }, async () => {
  const sock = new GenlSocket();
  try {
    await sock.sendsAtOnce();
    const [r] = await sock.sendMessagesAtOnce(encodeGenlRequest(getFamily('no such family'), 0), 1, [{ family: 'nlctrl', command: 'getfamily' }]);
    assert.equal(r!.index, 0);
    assert.equal(r!.error?.code, 'ENOENT');
    assert.match(r!.error!.message, /^nlctrl getfamily failed/);
  } finally {
    sock.close();
  }
});

test('sends at once: closing the socket frees the reader, and a closed socket does not prepare', { skip: !batchedReadsSupported() }, async () => {
  const sock = new GenlSocket();
  await sock.sendsAtOnce();
  sock.close();
  assert.equal(sock.batchesSentAtOnce, undefined);
  await assert.rejects(sock.sendMessagesAtOnce(batchBytes(), 50, []), { code: 'ESHUTDOWN', message: 'the netlink socket is closed' });
  const other = new GenlSocket();
  const preparing = other.sendsAtOnce();
  other.close();
  assert.equal(await preparing.catch(() => false), false);
  assert.equal(other.batchesSentAtOnce, undefined);
});
