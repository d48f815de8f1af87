/** UfidTable against a Map of hex strings: the same answers through growth, deletions and retain. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UFID_LEN, UfidTable } from '../../../src/client/ufid-table.js';

/** A deterministic UFID; `home` fixes its first word (the slot it wants), for collisions. */
function ufid(n: number, home?: number): Buffer {
  const b = Buffer.alloc(UFID_LEN);
  b.writeUInt32LE(home ?? Math.imul(n, 0x9e3779b1) >>> 0, 0);
  b.writeUInt32LE(n, 4);
  b.writeUInt32BE((n ^ 0xdeadbeef) >>> 0, 8);
  b.writeUInt32LE(~n >>> 0, 12);
  return b;
}

function check(t: UfidTable, model: Map<string, number>, all: Buffer[]): void {
  assert.equal(t.size, model.size);
  for (const u of all) {
    const want = model.get(u.toString('hex'));
    assert.equal(t.get(u), want, u.toString('hex'));
    assert.equal(t.has(u), want !== undefined);
  }
}

test('UfidTable: set, get, has, delete and growth agree with a Map', () => {
  const t = new UfidTable(4);
  const model = new Map<string, number>();
  const all = Array.from({ length: 600 }, (_, i) => ufid(i));
  for (const [i, u] of all.entries()) {
    assert.equal(t.set(u, i * 1.5), true, 'new');
    model.set(u.toString('hex'), i * 1.5);
  }
  assert.equal(t.set(all[7]!, 99), false, 'there already: value replaced');
  model.set(all[7]!.toString('hex'), 99);
  check(t, model, all);
  for (let i = 0; i < all.length; i += 3) {
    assert.equal(t.delete(all[i]!), true);
    model.delete(all[i]!.toString('hex'));
  }
  assert.equal(t.delete(all[0]!), false, 'gone already');
  check(t, model, all);
});

test('UfidTable: UFIDs that want the same slot, deleted in any order, leave the others found', () => {
  // 12 UFIDs in 3 clusters of one home slot each, in a table of 32 slots: long runs, wrapping at the end.
  const homes = [5, 6, 31];
  const all = Array.from({ length: 12 }, (_, i) => ufid(i, homes[i % 3]));
  for (const order of [[0, 3, 6, 9], [11, 8, 5, 2, 1], [2, 5, 8, 11, 0, 1], [4, 7, 10]]) {
    const t = new UfidTable(16);
    const model = new Map<string, number>();
    for (const [i, u] of all.entries()) {
      t.set(u, i);
      model.set(u.toString('hex'), i);
    }
    for (const i of order) {
      assert.equal(t.delete(all[i]!), true);
      model.delete(all[i]!.toString('hex'));
      check(t, model, all);
    }
    // Reinserted after the deletions: found again, nothing twice.
    for (const i of order) assert.equal(t.set(all[i]!, -i), true);
    assert.equal(t.size, all.length);
  }
});

test('UfidTable: a UFID inside a bigger buffer, by offset; out of range throws', () => {
  const t = new UfidTable();
  const msg = Buffer.concat([Buffer.alloc(5, 0xaa), ufid(1), Buffer.alloc(3)]);
  assert.equal(t.set(msg, 42, 5), true);
  assert.equal(t.get(ufid(1)), 42);
  assert.equal(t.has(msg, 4), false);
  assert.throws(() => t.get(msg, 9), RangeError);
  assert.throws(() => t.set(Buffer.alloc(15), 1), RangeError);
});

test('UfidTable: retain keeps what the predicate keeps, with each UFID and value', () => {
  const t = new UfidTable();
  const all = Array.from({ length: 100 }, (_, i) => ufid(i));
  all.forEach((u, i) => t.set(u, i));
  const seen = new Set<string>();
  t.retain((u, v) => {
    assert.equal(u.length, UFID_LEN);
    assert.deepEqual(u, all[v]!);
    seen.add(u.toString('hex'));
    return v % 4 === 0;
  });
  assert.equal(seen.size, 100);
  assert.equal(t.size, 25);
  all.forEach((u, i) => assert.equal(t.get(u), i % 4 === 0 ? i : undefined));
  t.set(ufid(1000), 7);
  assert.equal(t.get(ufid(1000)), 7);
});

test('UfidTable: clear empties it; it fills again as new', () => {
  const t = new UfidTable(2);
  for (let i = 0; i < 50; i++) t.set(ufid(i), i);
  t.clear();
  assert.equal(t.size, 0);
  assert.equal(t.get(ufid(3)), undefined);
  for (let i = 25; i < 75; i++) assert.equal(t.set(ufid(i), -i), true);
  assert.equal(t.size, 50);
  assert.equal(t.get(ufid(30)), -30);
  assert.equal(t.get(ufid(10)), undefined);
});
