/**
 * The outbox contract, written once; every Outbox implementation runs it (as aedes-persistence's
 * abstract.js does for persistences).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContractError, type NewEvent } from '@quanlink/contracts';
import type { Outbox } from '../../src/outbox/index.js';

export function counts(device: string, lanes: Record<string, number>, ts = 1_700_000_000_000): NewEvent {
  return { ts, type: 'counts', device, data: { lanes } };
}

export function outboxConformance(name: string, open: () => Outbox): void {
  describe(`Outbox conformance: ${name}`, () => {
    it('numbers events from 1, consecutively, in append order', () => {
      const box = open();
      const a = box.append([counts('d1', { '1': 1 }), counts('d1', { '1': 2 })]);
      const b = box.append([counts('d2', { '2': 3 })]);
      assert.deepEqual([...a, ...b].map((e) => e.seq), [1, 2, 3]);
      assert.deepEqual(box.stats(), { depth: 3, firstSeq: 1, lastSeq: 3, oldestTs: 1_700_000_000_000 });
      box.close();
    });

    it('reads rows from a seq with a limit, serialized with their seq', () => {
      const box = open();
      box.append(Array.from({ length: 10 }, (_, i) => counts('d1', { '1': i })));
      const rows = box.readFrom(4, 3);
      assert.deepEqual(rows.map((r) => r.seq), [4, 5, 6]);
      assert.deepEqual(JSON.parse(rows[0]!.json), { seq: 4, ts: 1_700_000_000_000, type: 'counts', device: 'd1', data: { lanes: { '1': 3 } } });
      assert.deepEqual(box.readFrom(11, 5), []);
      box.close();
    });

    it('prunes up to a seq and keeps numbering after everything is pruned', () => {
      const box = open();
      box.append([counts('d1', { '1': 1 }), counts('d1', { '1': 1 })]);
      assert.equal(box.pruneUpTo(1), 1);
      assert.equal(box.stats().firstSeq, 2);
      assert.equal(box.pruneUpTo(5), 1);
      assert.deepEqual(box.stats(), { depth: 0, firstSeq: 3, lastSeq: 2 });
      assert.equal(box.append([counts('d1', { '1': 1 })])[0]!.seq, 3, 'seqs are never reused');
      box.close();
    });

    it('stores state with the events it belongs to', () => {
      const box = open();
      box.append([counts('d1', { '1': 5 })], { 'd1/lane1.count': 105 });
      box.append([], { 'd1/lane2.count': 7 });
      assert.equal(box.getState('d1/lane1.count'), 105);
      assert.equal(box.getState('d1/lane2.count'), 7);
      assert.equal(box.getState('missing'), undefined);
      assert.equal(box.stats().lastSeq, 1, 'a state-only append takes no seq');
      box.close();
    });

    it('refuses an event that breaks the contract, naming the field, and stores nothing of that append', () => {
      const box = open();
      const bad = { ts: 1, type: 'counts', device: 'd1', data: { lanes: { '1': -1 } } } as NewEvent;
      assert.throws(
        () => box.append([counts('d1', { '1': 1 }), bad], { k: 1 }),
        (err: unknown) => err instanceof ContractError && /events\[1\]/.test(err.message) && err.path === 'data.lanes[1]',
      );
      assert.equal(box.stats().depth, 0);
      assert.equal(box.getState('k'), undefined);
      assert.equal(box.append([counts('d1', { '1': 1 })])[0]!.seq, 1, 'a refused append consumes no seq');
      box.close();
    });

    it('has a stream id the contract accepts', () => {
      const box = open();
      assert.match(box.stream, /^[A-Za-z0-9_-]{8,64}$/);
      box.close();
    });
  });
}
