/**
 * The UpdateStore conformance suite (run by storeConformance for every CloudStore): updates,
 * rollouts and their per-gateway records, update.status events applied inside the ingest
 * transaction (forward only, exactly once), abort skipping pending gateways.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { GatewayEvent, SignatureEnvelope, UpdateStatusData } from '@quanlink/contracts';
import { UnknownGatewayError, type CloudStore } from '../../src/store/types.js';
import { DuplicateUpdateError, UnknownUpdateError, type NewRollout } from '../../src/updates/types.js';
import type { StoreFactory } from './conformance.js';

const HASH = '$scrypt$ln=14,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
const T0 = 1_760_000_000_000;

function envelope(version: string): SignatureEnvelope {
  return {
    format: 1,
    keyId: '0123456789abcdef',
    signature: `${'A'.repeat(86)}==`,
    manifest: { format: 1, product: 'quanlink-edge', version, createdAt: T0, entry: 'main.mjs', files: [{ path: 'main.mjs', sha256: 'a'.repeat(64), size: 10 }], payloadSha256: 'b'.repeat(64) },
  };
}

const update = (id: string, version: string) => ({ id, version, keyId: '0123456789abcdef', envelope: envelope(version), bundleSha256: 'c'.repeat(64), size: 1234, createdAt: T0, createdBy: 'admin' });

const rollout = (id: string, gatewayIds: string[], extra: Partial<NewRollout> = {}): NewRollout => ({
  id,
  updateId: 'upd-1',
  gatewayIds,
  maxConcurrent: 2,
  perMinute: null,
  abortAfterFailures: 2,
  abortAfterPercent: null,
  healthTimeoutMs: 60_000,
  createdAt: T0,
  createdBy: 'admin',
  ...extra,
});

let streamN = 0;
async function report(store: CloudStore, gatewayId: string, seq: number, data: UpdateStatusData, stream: string): Promise<void> {
  const event = { seq, ts: T0 + seq, type: 'update.status', data } as GatewayEvent;
  const result = await store.ingestBatch(gatewayId, { stream, first: seq, last: seq }, [event], [], T0 + seq);
  assert.equal(result.status, 'ok');
}

export function updatesConformance(name: string, factory: StoreFactory): void {
  async function withStore(body: (store: CloudStore) => Promise<void>): Promise<void> {
    const store = await factory();
    try {
      for (const id of ['gw-a', 'gw-b', 'gw-c']) await store.addGateway({ id, passwordHash: HASH, createdAt: T0 });
      await store.updates.addUpdate(update('upd-1', '1.4.0'));
      await body(store);
    } finally {
      await store.close();
    }
  }

  describe(`${name}: update store`, () => {
    test('issue 6: an update is kept with its envelope; a second one of the same version is refused', () =>
      withStore(async (store) => {
        const stored = await store.updates.getUpdate('upd-1');
        assert.equal(stored?.version, '1.4.0');
        assert.deepEqual(stored?.envelope, envelope('1.4.0'));
        await assert.rejects(store.updates.addUpdate(update('upd-2', '1.4.0')), DuplicateUpdateError);
        await store.updates.addUpdate(update('upd-3', '1.5.0'));
        assert.deepEqual((await store.updates.listUpdates()).map((u) => u.id).sort(), ['upd-1', 'upd-3']);
        assert.equal(await store.updates.getUpdate('nope'), undefined);
      }));

    test('issue 6: a rollout starts with every gateway pending, in order; unknown updates and gateways are refused', () =>
      withStore(async (store) => {
        const created = await store.updates.createRollout(rollout('ro-1', ['gw-b', 'gw-a', 'gw-c']));
        assert.equal(created.state, 'running');
        assert.equal(created.version, '1.4.0');
        assert.deepEqual(created.targets.map((t) => `${t.gatewayId}:${t.state}`), ['gw-b:pending', 'gw-a:pending', 'gw-c:pending']);
        assert.deepEqual(created.counts, { pending: 3 });
        await assert.rejects(store.updates.createRollout(rollout('ro-2', ['gw-a'], { updateId: 'nope' })), UnknownUpdateError);
        await assert.rejects(store.updates.createRollout(rollout('ro-3', ['gw-a', 'gw-zz'])), UnknownGatewayError);
        assert.equal(await store.updates.getRollout('ro-3'), undefined, 'nothing of a refused rollout is kept');
        assert.deepEqual((await store.updates.listRollouts({ state: 'running' })).map((r) => r.id), ['ro-1']);
      }));

    test('issue 6: updateTarget moves a gateway only from the expected states, and only while the rollout runs', () =>
      withStore(async (store) => {
        await store.updates.createRollout(rollout('ro-1', ['gw-a', 'gw-b']));
        assert.equal(await store.updates.updateTarget('ro-1', 'gw-a', ['pending'], { state: 'sent', at: T0 + 1, startedAt: T0 + 1 }), true);
        assert.equal(await store.updates.updateTarget('ro-1', 'gw-a', ['pending'], { state: 'sent', at: T0 + 2, startedAt: T0 + 2 }), false, 'sent twice');
        const detail = await store.updates.getRollout('ro-1');
        assert.deepEqual(detail?.targets[0], { gatewayId: 'gw-a', state: 'sent', reason: null, startedAt: T0 + 1, updatedAt: T0 + 1 });
        assert.equal(await store.updates.finishRollout('ro-1', 'aborted', 'operator said so', T0 + 5), true);
        assert.equal(await store.updates.finishRollout('ro-1', 'completed', 'again', T0 + 6), false, 'an ended rollout stays ended');
        const aborted = await store.updates.getRollout('ro-1');
        assert.equal(aborted?.state, 'aborted');
        assert.equal(aborted?.reason, 'operator said so');
        assert.equal(aborted?.finishedAt, T0 + 5);
        assert.deepEqual(aborted?.targets.map((t) => `${t.gatewayId}:${t.state}`), ['gw-a:sent', 'gw-b:skipped']);
        assert.equal(aborted?.targets[1]?.reason, 'rollout aborted: operator said so');
        assert.equal(await store.updates.updateTarget('ro-1', 'gw-a', ['sent'], { state: 'failed', at: T0 + 7 }), false, 'no change after the end');
      }));

    test('issue 6: update.status events move the record forward in the ingest transaction, exactly once, never back', () =>
      withStore(async (store) => {
        const stream = `stream-upd-${++streamN}-${name.replace(/[^A-Za-z0-9]/g, '')}`.slice(0, 60);
        await store.updates.createRollout(rollout('ro-1', ['gw-a', 'gw-b']));
        // A pending gateway's stray report is ignored (it was never sent the update by this rollout).
        await report(store, 'gw-b', 1, { updateId: 'upd-1', version: '1.4.0', state: 'installed' }, `${stream}b`);
        await store.updates.updateTarget('ro-1', 'gw-a', ['pending'], { state: 'sent', at: T0, startedAt: T0 });
        await report(store, 'gw-a', 1, { updateId: 'upd-1', version: '1.4.0', state: 'downloading' }, stream);
        await report(store, 'gw-a', 2, { updateId: 'upd-1', version: '1.4.0', state: 'installed' }, stream);
        await report(store, 'gw-a', 2, { updateId: 'upd-1', version: '1.4.0', state: 'installed' }, stream);
        await report(store, 'gw-a', 3, { updateId: 'upd-1', version: '1.4.0', state: 'verifying' }, stream);
        let detail = await store.updates.getRollout('ro-1');
        assert.deepEqual(detail?.targets.map((t) => `${t.gatewayId}:${t.state}`), ['gw-a:installed', 'gw-b:pending']);
        await report(store, 'gw-a', 4, { updateId: 'upd-1', version: '1.4.0', state: 'rolled-back', reason: 'release 1.4.0 did not become healthy within 60 s: exited with code 1' }, stream);
        await report(store, 'gw-a', 5, { updateId: 'upd-1', version: '1.4.0', state: 'healthy' }, stream);
        detail = await store.updates.getRollout('ro-1');
        assert.equal(detail?.targets[0]?.state, 'rolled-back', 'a final state is kept');
        assert.equal(detail?.targets[0]?.reason, 'release 1.4.0 did not become healthy within 60 s: exited with code 1');
        assert.deepEqual(detail?.counts, { 'rolled-back': 1, pending: 1 });
        // Another update's report does not touch this rollout.
        await report(store, 'gw-b', 2, { updateId: 'upd-9', version: '9.0.0', state: 'healthy' }, `${stream}b`);
        assert.equal((await store.updates.getRollout('ro-1'))?.targets[1]?.state, 'pending');
        assert.equal((await store.events({ gatewayId: 'gw-a', type: 'update.status' })).length, 5, 'the reports are stored as events too');
      }));
  });
}
