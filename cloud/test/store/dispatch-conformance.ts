/**
 * The DispatchStore conformance suite (run by storeConformance for every CloudStore): messages,
 * dispatches and their lifecycle, sign events applied inside the ingest transaction, audit,
 * screens, guidance rules and proposals.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { GatewayEvent } from '@quanlink/contracts';
import { UnknownDispatchError, UnknownMessageError, ProposalStateError, type NewMessage } from '../../src/dispatch/types.js';
import type { CloudStore } from '../../src/store/types.js';
import type { StoreFactory } from './conformance.js';

const HASH = '$scrypt$ln=14,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
const T0 = 1_760_000_000_000;
const STREAM = 'stream-signs-0001';

function message(id: string, extra: Partial<NewMessage> = {}): NewMessage {
  return {
    id,
    multi: 'SLOW DOWN',
    crc: 0x1234,
    form: null,
    priority: 100,
    startAt: T0,
    endAt: null,
    createdAt: T0,
    source: 'operator',
    targets: { screens: ['gw-a/vms-1', 'gw-a/vms-2'] },
    note: null,
    createdBy: 'admin',
    ruleId: null,
    ...extra,
  };
}
const audit = (action: string, subject: string, at = T0) => ({ at, actor: 'admin', action, subject, details: { why: 'test' } });

export function dispatchConformance(name: string, factory: StoreFactory): void {
  function withStore(title: string, body: (store: CloudStore) => Promise<void>): void {
    test(title, async () => {
      const store = await factory();
      try {
        await store.addGateway({ id: 'gw-a', passwordHash: HASH, createdAt: T0 });
        await body(store);
      } finally {
        await store.close();
      }
    });
  }
  async function twoDispatches(store: CloudStore, id = 'm1', extra: Partial<NewMessage> = {}) {
    return store.dispatch.createMessage(
      message(id, extra),
      [
        { id: `${id}-d1`, gatewayId: 'gw-a', deviceId: 'vms-1' },
        { id: `${id}-d2`, gatewayId: 'gw-a', deviceId: 'vms-2' },
      ],
      audit('message.create', `message:${id}`),
    );
  }

  describe(`DispatchStore conformance: ${name}`, () => {
    withStore('issue 4: a message and its dispatches are stored together, queued, with an audit row', async (store) => {
      const created = await twoDispatches(store);
      assert.equal(created.message.id, 'm1');
      assert.equal(created.message.cancelledAt, null);
      assert.deepEqual(created.message.targets, { screens: ['gw-a/vms-1', 'gw-a/vms-2'] });
      assert.deepEqual(created.dispatches.map((d) => [d.id, d.state]), [['m1-d1', 'queued'], ['m1-d2', 'queued']]);
      assert.deepEqual(await store.dispatch.getMessage('m1'), created.message);
      const log = await store.dispatch.listAudit();
      assert.deepEqual(log.map((e) => [e.actor, e.action, e.subject, e.details]), [['admin', 'message.create', 'message:m1', { why: 'test' }]]);
      assert.equal(await store.dispatch.getMessage('nope'), undefined);
    });

    withStore('issue 4: lifecycle queued -> sent -> delivered -> displayed, each a history row; tx is recorded', async (store) => {
      await twoDispatches(store);
      await store.dispatch.transition([{ dispatchId: 'm1-d1', to: 'sent', actor: 'cloud', at: T0 + 1, tx: 'tx1' }]);
      await store.dispatch.transition([{ dispatchId: 'm1-d1', to: 'delivered', actor: 'edge:gw-a', at: T0 + 2 }]);
      const { changes } = await store.dispatch.transition([{ dispatchId: 'm1-d1', to: 'displayed', actor: 'edge:gw-a', at: T0 + 3, readbackCrc: 0x1234 }]);
      assert.equal(changes[0]!.dispatch.state, 'displayed');
      assert.equal(changes[0]!.dispatch.readbackCrc, 0x1234);
      assert.equal(changes[0]!.dispatch.lastTx, 'tx1');
      assert.deepEqual((await store.dispatch.dispatchesOfTx('tx1')).map((d) => d.id), ['m1-d1']);
      const history = await store.dispatch.history('m1-d1');
      assert.deepEqual(history.map((h) => [h.from, h.to, h.applied, h.actor, h.at]), [
        ['queued', 'sent', true, 'cloud', T0 + 1],
        ['sent', 'delivered', true, 'edge:gw-a', T0 + 2],
        ['delivered', 'displayed', true, 'edge:gw-a', T0 + 3],
      ]);
      assert.equal(history[2]!.readbackCrc, 0x1234);
      // Same state again: nothing recorded.
      assert.deepEqual((await store.dispatch.transition([{ dispatchId: 'm1-d1', to: 'displayed', actor: 'edge:gw-a', at: T0 + 4 }])).changes, []);
      assert.equal((await store.dispatch.history('m1-d1')).length, 3);
      assert.deepEqual([...(await store.dispatch.displayedMessages()).keys()], ['gw-a/vms-1']);
    });

    withStore('issue 4: illegal transitions are refused and recorded as not applied; resend reopens failed only with reopen', async (store) => {
      await twoDispatches(store);
      const refused = await store.dispatch.transition([{ dispatchId: 'm1-d1', to: 'displayed', actor: 'edge:gw-a', at: T0 + 1 }]);
      assert.equal(refused.changes[0]!.history.applied, false);
      assert.match(refused.changes[0]!.history.reason!, /illegal transition queued -> displayed/);
      assert.equal((await store.dispatch.getDispatch('m1-d1'))!.state, 'queued');

      await store.dispatch.transition([{ dispatchId: 'm1-d1', to: 'failed', actor: 'edge:gw-a', at: T0 + 2, reason: 'ScreenDark: no power' }]);
      assert.equal((await store.dispatch.getDispatch('m1-d1'))!.reason, 'ScreenDark: no power');
      const stuck = await store.dispatch.transition([{ dispatchId: 'm1-d1', to: 'queued', actor: 'admin', at: T0 + 3 }]);
      assert.equal(stuck.changes[0]!.history.applied, false);
      assert.match(stuck.changes[0]!.history.reason!, /failed is final/);
      const reopened = await store.dispatch.transition(
        [{ dispatchId: 'm1-d1', to: 'queued', actor: 'admin', at: T0 + 4, reopen: true }],
        audit('message.resend', 'message:m1', T0 + 4),
      );
      assert.equal(reopened.changes[0]!.dispatch.state, 'queued');
      assert.equal(reopened.audit!.action, 'message.resend');

      await assert.rejects(store.dispatch.transition([{ dispatchId: 'nope', to: 'sent', actor: 'cloud', at: T0 }]), UnknownDispatchError);
      await assert.rejects(store.dispatch.history('nope'), UnknownDispatchError);
    });

    withStore('issue 4: cancel moves every open dispatch to cancelled; nothing leaves cancelled, not even a reopen', async (store) => {
      await twoDispatches(store);
      await store.dispatch.transition([{ dispatchId: 'm1-d2', to: 'failed', actor: 'edge:gw-a', at: T0 + 1 }]);
      const { message: cancelled, changes } = await store.dispatch.cancelMessage('m1', audit('message.cancel', 'message:m1', T0 + 5));
      assert.equal(cancelled.cancelledAt, T0 + 5);
      assert.equal(cancelled.cancelledBy, 'admin');
      assert.deepEqual(changes.map((c) => [c.dispatch.id, c.dispatch.state]), [['m1-d1', 'cancelled']]);
      assert.equal((await store.dispatch.getDispatch('m1-d2'))!.state, 'failed');
      const refused = await store.dispatch.transition([{ dispatchId: 'm1-d1', to: 'sent', actor: 'admin', at: T0 + 6, reopen: true }]);
      assert.equal(refused.changes[0]!.history.applied, false);
      assert.match(refused.changes[0]!.history.reason!, /cancelled dispatch never changes/);
      await assert.rejects(store.dispatch.cancelMessage('nope', audit('message.cancel', 'message:nope')), UnknownMessageError);
      assert.deepEqual(await store.dispatch.activeForGateway('gw-a', T0 + 7), []);
      assert.deepEqual((await store.dispatch.listMessages({ active: true, now: T0 + 7 })).map((m) => m.id), []);
    });

    withStore('issue 4: expireDue expires open dispatches of ended messages; activeForGateway leaves them out', async (store) => {
      await twoDispatches(store, 'm1', { endAt: T0 + 10_000 });
      await twoDispatches(store, 'm2', { createdAt: T0 + 1 });
      assert.deepEqual((await store.dispatch.activeForGateway('gw-a', T0 + 5000)).map((e) => [e.message.id, e.dispatches.length]), [['m1', 2], ['m2', 2]]);
      assert.deepEqual(await store.dispatch.expireDue(T0 + 9999, 'cloud:expiry'), []);
      const expired = await store.dispatch.expireDue(T0 + 10_000, 'cloud:expiry');
      assert.deepEqual(expired.map((c) => [c.dispatch.id, c.dispatch.state, c.history.actor]), [
        ['m1-d1', 'expired', 'cloud:expiry'],
        ['m1-d2', 'expired', 'cloud:expiry'],
      ]);
      assert.deepEqual((await store.dispatch.activeForGateway('gw-a', T0 + 10_000)).map((e) => e.message.id), ['m2']);
      assert.deepEqual((await store.dispatch.listMessages({ active: true, now: T0 + 10_000 })).map((m) => m.id), ['m2']);
      assert.deepEqual((await store.dispatch.listMessages({ source: 'auto' })).map((m) => m.id), []);
    });

    withStore('issue 4: sign.dispatch events move dispatches inside the ingest; late, duplicate and unknown ones are safe', async (store) => {
      await twoDispatches(store);
      await store.dispatch.transition([
        { dispatchId: 'm1-d1', to: 'sent', actor: 'cloud', at: T0 },
        { dispatchId: 'm1-d2', to: 'sent', actor: 'cloud', at: T0 },
      ]);
      const signEvent = (seq: number, device: string, data: Record<string, unknown>): GatewayEvent =>
        ({ seq, ts: T0 + seq, type: 'sign.dispatch', device, data }) as GatewayEvent;
      const events: GatewayEvent[] = [
        signEvent(1, 'vms-1', { dispatchId: 'm1-d1', messageId: 'm1', state: 'displayed', readbackCrc: 0x1234 }),
        signEvent(2, 'vms-2', { dispatchId: 'm1-d2', messageId: 'm1', state: 'displayed', readbackCrc: 0x9999 }),
        signEvent(3, 'vms-1', { dispatchId: 'nope', messageId: 'm1', state: 'displayed' }),
        { seq: 4, ts: T0 + 4, type: 'sign.status', device: 'vms-1', data: { doorOpen: true, powerFault: false, controllerFault: false, pixelFailures: 3, displayedCrc: 0x1234, activeMessageId: 'm1' } } as GatewayEvent,
      ];
      const result = await store.ingestBatch('gw-a', { stream: STREAM, first: 1, last: 4 }, events, [], T0 + 100);
      assert.equal(result.inserted, 3);
      assert.equal(result.quarantined, 1);
      assert.match(result.storeRejected![0]!.reason, /unknown dispatch 'nope'/);
      assert.deepEqual(result.dispatchChanges!.map((c) => [c.dispatch.id, c.dispatch.state]), [['m1-d1', 'displayed'], ['m1-d2', 'failed']]);
      assert.match((await store.dispatch.getDispatch('m1-d2'))!.reason!, /readback CRC 0x9999 does not match the message CRC 0x1234/);
      assert.equal(result.screenChanges![0]!.pixelFailures, 3);
      assert.equal((await store.dispatch.listScreenConditions())[0]!.doorOpen, true);
      const rejected = await store.rejectedEvents({ gatewayId: 'gw-a' });
      assert.equal(rejected.length, 1);
      assert.match(rejected[0]!.reason, /unknown dispatch/);

      // The same batch again: nothing applied twice.
      const again = await store.ingestBatch('gw-a', { stream: STREAM, first: 1, last: 4 }, events, [], T0 + 200);
      assert.equal(again.duplicates, 4);
      assert.equal(again.dispatchChanges, undefined);
      assert.equal((await store.dispatch.history('m1-d1')).length, 2);

      // A late 'displayed' after expiry is recorded as refused, not applied.
      await store.dispatch.transition([{ dispatchId: 'm1-d1', to: 'expired', actor: 'cloud:expiry', at: T0 + 300 }]);
      const late = await store.ingestBatch('gw-a', { stream: STREAM, first: 5, last: 5 }, [signEvent(5, 'vms-1', { dispatchId: 'm1-d1', messageId: 'm1', state: 'displayed', readbackCrc: 0x1234 })], [], T0 + 400);
      assert.equal(late.dispatchChanges![0]!.history.applied, false);
      assert.equal((await store.dispatch.getDispatch('m1-d1'))!.state, 'expired');
      const last = (await store.dispatch.history('m1-d1')).at(-1)!;
      assert.deepEqual([last.from, last.to, last.applied, last.actor], ['expired', 'displayed', false, 'edge:gw-a']);
    });

    withStore('issue 4: screen metadata is patched field by field; audit filters by actor, action and time', async (store) => {
      await store.dispatch.putScreenMeta('gw-a', 'vms-1', { groups: ['ring', 'north', 'ring'], segment: 's1' }, audit('screen.update', 'screen:gw-a/vms-1', T0));
      const { meta } = await store.dispatch.putScreenMeta('gw-a', 'vms-1', { location: { lat: 31.2, lon: 121.4 } }, audit('screen.update', 'screen:gw-a/vms-1', T0 + 10));
      assert.deepEqual(meta.groups, ['ring', 'north']);
      assert.equal(meta.segment, 's1');
      assert.deepEqual(meta.location, { lat: 31.2, lon: 121.4 });
      assert.deepEqual(await store.dispatch.listScreenMeta(), [meta]);
      await store.dispatch.appendAudit({ at: T0 + 20, actor: 'guidance:r1', action: 'message.create', subject: 'message:x', details: {} });
      assert.equal((await store.dispatch.listAudit({ since: T0 + 5 })).length, 2);
      assert.deepEqual((await store.dispatch.listAudit({ actor: 'guidance:r1' })).map((e) => e.subject), ['message:x']);
      assert.equal((await store.dispatch.listAudit({ action: 'screen.update', limit: 1 }))[0]!.at, T0 + 10);
    });

    withStore('issue 4: guidance rules, their state and proposals', async (store) => {
      const rule = { id: 'r1', segment: 's1', whenGradeAtLeast: 'moderate' as const, targets: { all: true }, multi: 'JAM' };
      const first = await store.dispatch.putRule(rule, audit('guidance.rule.put', 'rule:r1', T0));
      assert.equal(first.created, true);
      const second = await store.dispatch.putRule({ ...rule, holdS: 30 }, audit('guidance.rule.put', 'rule:r1', T0 + 1));
      assert.equal(second.created, false);
      assert.equal(second.rule.createdAt, T0);
      assert.equal((await store.dispatch.getRule('r1'))!.holdS, 30);
      await store.dispatch.setRuleState('r1', { ruleId: 'r1', since: T0, messageId: null, proposalId: 'p1' });
      const { proposal } = await store.dispatch.createProposal({ id: 'p1', ruleId: 'r1', segment: 's1', grade: 'severe', createdAt: T0 }, audit('guidance.propose', 'rule:r1'));
      assert.equal(proposal.status, 'pending');
      const decided = await store.dispatch.decideProposal('p1', { status: 'approved', messageId: 'm9' }, audit('guidance.proposal.approve', 'proposal:p1', T0 + 2));
      assert.deepEqual([decided.proposal.status, decided.proposal.messageId, decided.proposal.decidedAt], ['approved', 'm9', T0 + 2]);
      await assert.rejects(store.dispatch.decideProposal('p1', { status: 'rejected' }, audit('x', 'y')), ProposalStateError);
      assert.equal((await store.dispatch.listProposals({ status: 'pending' })).length, 0);
      assert.equal((await store.dispatch.getRuleState('r1'))!.proposalId, 'p1');
      assert.deepEqual(await store.dispatch.deleteRule('r1', audit('guidance.rule.delete', 'rule:r1')).then((r) => r.deleted), true);
      assert.equal(await store.dispatch.getRuleState('r1'), undefined, 'state goes with its rule');
      assert.deepEqual(await store.dispatch.deleteRule('r1', audit('guidance.rule.delete', 'rule:r1')).then((r) => r.deleted), false);
    });
  });
}
