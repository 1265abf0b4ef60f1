import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SignMessage } from '@quanlink/contracts';
import { arbitrate } from '../../src/signs/arbitration.js';

const m = (id: string, priority: number, createdAt: number, startAt = 0, endAt?: number): { message: SignMessage } => ({
  message: { id, multi: id, crc: 1, priority, startAt, createdAt, source: 'operator', ...(endAt !== undefined ? { endAt } : {}) },
});

describe('arbitration', () => {
  const now = 1000;
  const table: { what: string; entries: { message: SignMessage }[]; winner: string | undefined; next?: number; ended?: string[] }[] = [
    { what: 'nothing active: default (or blank)', entries: [], winner: undefined },
    { what: 'the highest priority wins', entries: [m('low', 50, 900), m('high', 100, 100), m('mid', 99, 950)], winner: 'high' },
    { what: 'equal priority: the newest createdAt wins', entries: [m('old', 100, 100), m('new', 100, 200)], winner: 'new' },
    { what: 'equal priority and createdAt: the larger message id wins', entries: [m('a', 100, 100), m('b', 100, 100)], winner: 'b' },
    { what: 'a message not started yet does not show; its start is the next change', entries: [m('later', 200, 1, 1500), m('now', 100, 1)], winner: 'now', next: 1500 },
    { what: 'startAt == now is eligible', entries: [m('edge', 100, 1, 1000)], winner: 'edge' },
    { what: 'endAt == now has ended', entries: [m('done', 200, 1, 0, 1000), m('base', 100, 1)], winner: 'base', ended: ['done'] },
    { what: 'the earliest future start or end is the next change', entries: [m('a', 100, 1, 0, 3000), m('b', 100, 2, 2000, 2500), m('c', 100, 3, 0, 1200)], winner: 'c', next: 1200 },
    { what: 'only ended and future entries: none wins', entries: [m('past', 100, 1, 0, 10), m('future', 100, 1, 5000)], winner: undefined, next: 5000, ended: ['past'] },
  ];
  for (const row of table) {
    it(`issue 4 arbitration: ${row.what}`, () => {
      const result = arbitrate(row.entries, now);
      assert.equal(result.winner?.message.id, row.winner);
      assert.equal(result.nextChangeAt, row.next);
      assert.deepEqual(result.ended.map((e) => e.message.id), row.ended ?? []);
      if (row.winner) assert.ok(result.eligible.some((e) => e.message.id === row.winner));
    });
  }

  it('issue 4 arbitration: the answer does not depend on the order of the entries', () => {
    const entries = [m('a', 100, 5), m('b', 100, 5), m('c', 90, 9), m('d', 100, 4)];
    for (let i = 0; i < 10; i++) {
      const shuffled = [...entries].sort(() => Math.random() - 0.5);
      assert.equal(arbitrate(shuffled, now).winner?.message.id, 'b');
    }
  });
});
