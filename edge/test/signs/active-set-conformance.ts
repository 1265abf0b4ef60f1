/** The active-set contract, written once; every ActiveSet implementation runs it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ActiveSet } from '../../src/signs/active-set.js';
import { message } from './fake-sign.js';

export function activeSetConformance(name: string, open: () => ActiveSet): void {
  describe(`ActiveSet conformance: ${name}`, () => {
    it('adds entries per screen, delivered, oldest first', () => {
      const set = open();
      const a = message({ id: 'a' });
      const b = message({ id: 'b' });
      set.add([{ screen: 's1', message: a, dispatchId: 'd-a1' }, { screen: 's2', message: a, dispatchId: 'd-a2' }], 10);
      set.add([{ screen: 's1', message: b, dispatchId: 'd-b1' }], 20);
      const s1 = set.list('s1');
      assert.deepEqual(s1.map((e) => [e.dispatchId, e.state, e.receivedAt, e.origin]), [['d-a1', 'delivered', 10, 'cloud'], ['d-b1', 'delivered', 20, 'cloud']]);
      assert.deepEqual(s1[0]!.message, a);
      assert.equal(s1[0]!.lastReportedState, undefined);
      assert.deepEqual(set.screens(), ['s1', 's2']);
      assert.deepEqual(set.list('nope'), []);
      set.close();
    });

    it('is idempotent on message id + screen: the same message again keeps its state; a changed one starts afresh', () => {
      const set = open();
      const a = message({ id: 'a' });
      const [first] = set.add([{ screen: 's1', message: a, dispatchId: 'd1' }], 10);
      set.applyReports('s1', [{ dispatchId: 'd1', rev: first!.rev, state: 'displayed' }]);
      const [again] = set.add([{ screen: 's1', message: a, dispatchId: 'd1' }], 99);
      assert.equal(again!.state, 'displayed');
      assert.equal(again!.lastReportedState, 'displayed');
      assert.equal(again!.rev, first!.rev);
      assert.equal(set.list('s1').length, 1);
      const [changed] = set.add([{ screen: 's1', message: { ...a, endAt: 5000 }, dispatchId: 'd1' }], 100);
      assert.equal(changed!.state, 'delivered');
      assert.equal(changed!.lastReportedState, undefined);
      assert.notEqual(changed!.rev, first!.rev);
      assert.equal(set.list('s1').length, 1);
      set.close();
    });

    it('applies reports: sets state and lastReportedState, removes terminal ones, ignores another revision', () => {
      const set = open();
      const [a, b, c] = set.add(['a', 'b', 'c'].map((id) => ({ screen: 's1', message: message({ id }), dispatchId: `d-${id}` })), 1);
      set.applyReports('s1', [
        { dispatchId: 'd-a', rev: a!.rev, state: 'superseded' },
        { dispatchId: 'd-b', rev: b!.rev, state: 'failed' },
        { dispatchId: 'd-c', rev: c!.rev + 1000, state: 'expired' },
      ]);
      assert.deepEqual(set.list('s1').map((e) => [e.dispatchId, e.state, e.lastReportedState]), [['d-a', 'superseded', 'superseded'], ['d-c', 'delivered', undefined]]);
      set.close();
    });

    it('cancel marks a message cancelled on the named screens (all when absent) and returns them; a report cannot unmark it', () => {
      const set = open();
      const a = message({ id: 'a' });
      set.add(['s1', 's2', 's3'].map((screen) => ({ screen, message: a, dispatchId: `d-${screen}` })), 1);
      assert.deepEqual(set.cancel('a', ['s2']).map((e) => e.dispatchId), ['d-s2']);
      assert.equal(set.list('s2')[0]!.state, 'cancelled');
      assert.equal(set.list('s1')[0]!.state, 'delivered');
      assert.deepEqual(set.cancel('a').map((e) => e.dispatchId).sort(), ['d-s1', 'd-s2', 'd-s3']);
      assert.deepEqual(set.cancel('zzz'), []);
      const entry = set.list('s1')[0]!;
      set.applyReports('s1', [{ dispatchId: 'd-s1', rev: entry.rev, state: 'displayed' }]);
      assert.equal(set.list('s1')[0]!.state, 'cancelled', 'a display confirmed while the cancel came in does not undo it');
      set.applyReports('s1', [{ dispatchId: 'd-s1', rev: entry.rev, state: 'cancelled' }]);
      assert.deepEqual(set.list('s1'), []);
      set.close();
    });

    it('a cancelled entry added again is live again, with a new revision', () => {
      const set = open();
      const a = message({ id: 'a' });
      const [first] = set.add([{ screen: 's1', message: a, dispatchId: 'd1' }], 1);
      set.cancel('a');
      const [again] = set.add([{ screen: 's1', message: a, dispatchId: 'd1' }], 2);
      assert.equal(again!.state, 'delivered');
      assert.notEqual(again!.rev, first!.rev);
      set.close();
    });

    it('replaceAll makes the cloud entries exactly the given set; the others are dropped (marked cancelled), kept ones keep their state', () => {
      const set = open();
      const [a] = set.add([{ screen: 's1', message: message({ id: 'a' }), dispatchId: 'd-a' }], 1);
      set.add([{ screen: 's1', message: message({ id: 'b' }), dispatchId: 'd-b' }, { screen: 's2', message: message({ id: 'c' }), dispatchId: 'd-c' }], 1);
      set.add([{ screen: 's1', message: message({ id: 'local' }), dispatchId: 'd-local', origin: 'local' }], 1);
      set.applyReports('s1', [{ dispatchId: 'd-a', rev: a!.rev, state: 'displayed' }]);
      const { entries, dropped } = set.replaceAll(
        [{ screen: 's1', message: a!.message, dispatchId: 'd-a' }, { screen: 's2', message: message({ id: 'n' }), dispatchId: 'd-n' }],
        5,
      );
      assert.deepEqual(dropped.map((e) => e.dispatchId).sort(), ['d-b', 'd-c']);
      assert.deepEqual(entries.map((e) => [e.dispatchId, e.state]), [['d-a', 'displayed'], ['d-n', 'delivered']]);
      assert.deepEqual(set.list('s1').map((e) => [e.dispatchId, e.state]), [['d-a', 'displayed'], ['d-b', 'cancelled'], ['d-local', 'delivered']]);
      assert.deepEqual(set.list('s2').map((e) => [e.dispatchId, e.state]), [['d-c', 'cancelled'], ['d-n', 'delivered']]);
      assert.deepEqual(set.replaceAll([], 6).dropped.map((e) => e.dispatchId).sort(), ['d-a', 'd-b', 'd-c', 'd-n']);
      set.close();
    });
  });
}
