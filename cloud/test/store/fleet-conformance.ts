/** The FleetStore contract: every implementation runs this suite (see test/store/sqlite/fleet-store.test.ts). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { EnrolmentRefusedError, FleetConflictError, UnknownFleetRecordError, type NewEnrolmentToken } from '../../src/fleet/types.js';
import { UnknownGatewayError, type CloudStore } from '../../src/store/types.js';

const T0 = Date.parse('2026-06-01T08:00:00Z');
const HOUR = 3_600_000;
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const HASH = '$scrypt$ln=14,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';

function token(id: string, overrides: Partial<NewEnrolmentToken> = {}): NewEnrolmentToken {
  return { id, tokenHash: sha(`secret-${id}`), siteId: 'site-1', createdAt: T0, createdBy: 'tech', expiresAt: T0 + 24 * HOUR, ...overrides };
}

async function refusal(work: Promise<unknown>): Promise<EnrolmentRefusedError> {
  try {
    await work;
  } catch (err) {
    assert.ok(err instanceof EnrolmentRefusedError, `expected EnrolmentRefusedError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the enrolment to be refused');
}

export function fleetConformance(name: string, open: () => Promise<CloudStore>): void {
  describe(`FleetStore conformance: ${name}`, () => {
    const withStore = async (body: (store: CloudStore) => Promise<void>) => {
      const store = await open();
      try {
        await store.fleet.putGridCell({ id: 'cell-7', name: '七号网格', bbox: [121.4, 31.2, 121.5, 31.3] }, T0);
        await store.fleet.putSite({ id: 'site-1', name: 'Ring road / 3rd st', location: { lat: 31.23, lon: 121.47 }, gridCellId: 'cell-7', address: 'box 12' }, T0);
        await body(store);
      } finally {
        await store.close();
      }
    };

    test('issue 6: grid cells and sites are created, replaced and listed; an unknown grid cell is refused', () =>
      withStore(async (store) => {
        const replaced = await store.fleet.putGridCell({ id: 'cell-7', name: 'Cell 7', polygon: [[121.4, 31.2], [121.5, 31.2], [121.5, 31.3]] }, T0 + 1);
        assert.equal(replaced.created, false);
        assert.deepEqual(replaced.record.polygon, [[121.4, 31.2], [121.5, 31.2], [121.5, 31.3]]);
        assert.equal(replaced.record.bbox, null);
        assert.equal(replaced.record.createdAt, T0);
        const site = await store.fleet.getSite('site-1');
        assert.deepEqual(site?.location, { lat: 31.23, lon: 121.47 });
        assert.equal(site?.gridCellId, 'cell-7');
        await assert.rejects(store.fleet.putSite({ id: 'site-2', name: 'x', gridCellId: 'nope' }), UnknownFleetRecordError);
        assert.deepEqual((await store.fleet.listSites({ gridCellId: 'cell-7' })).map((s) => s.id), ['site-1']);
        assert.deepEqual(await store.fleet.listSites({ gridCellId: 'other' }), []);
        await assert.rejects(store.fleet.deleteGridCell('cell-7'), FleetConflictError, 'a site still uses it');
        assert.equal(await store.fleet.deleteGridCell('unknown'), false);
      }));

    test('issue 6: enrolment creates the gateway on the token site and uses the token up', () =>
      withStore(async (store) => {
        await store.fleet.createEnrolmentToken(token('et-01', { gatewayIdPrefix: 'ring-' }));
        const result = await store.fleet.enrol({ tokenHash: sha('secret-et-01'), name: 'Box 12', hardware: { model: 'x86' }, passwordHash: HASH, at: T0 + HOUR });
        assert.match(result.gatewayId, /^ring-[0-9a-f]{8}$/);
        assert.equal(result.reEnrolled, false);
        assert.equal(result.token.state, 'used');
        assert.equal(result.token.usedBy, result.gatewayId);
        const gateway = await store.getGateway(result.gatewayId);
        assert.equal(gateway?.name, 'Box 12');
        assert.equal(await store.gatewaySecretHash(result.gatewayId), HASH);
        const fleet = await store.fleet.gatewayFleet(result.gatewayId);
        assert.equal(fleet?.siteId, 'site-1');
        assert.equal(fleet?.gridCellId, 'cell-7', 'the site grid cell');
        assert.deepEqual(fleet?.location, { lat: 31.23, lon: 121.47 });
        assert.deepEqual(fleet?.hardware, { model: 'x86' });
        // Used: a second use is refused and creates nothing.
        const before = (await store.listGateways()).length;
        const again = await refusal(store.fleet.enrol({ tokenHash: sha('secret-et-01'), gatewayId: 'ring-2', passwordHash: HASH, at: T0 + HOUR }));
        assert.equal(again.reason, 'used');
        assert.match(again.message, /already used/);
        assert.equal((await store.listGateways()).length, before);
        await assert.rejects(store.fleet.deleteSite('site-1'), FleetConflictError);
      }));

    test('issue 6: expired, revoked and unknown tokens and ids the token does not allow are refused and change nothing', () =>
      withStore(async (store) => {
        await store.fleet.createEnrolmentToken(token('et-02', { expiresAt: T0 + HOUR }));
        await store.fleet.createEnrolmentToken(token('et-03'));
        await store.fleet.createEnrolmentToken(token('et-04', { gatewayId: 'gw-fixed' }));
        await store.fleet.revokeEnrolmentToken('et-03', 'admin', T0 + 1);
        assert.equal((await refusal(store.fleet.enrol({ tokenHash: sha('secret-et-02'), passwordHash: HASH, at: T0 + HOUR }))).reason, 'expired');
        assert.equal((await refusal(store.fleet.enrol({ tokenHash: sha('secret-et-03'), passwordHash: HASH, at: T0 + 2 }))).reason, 'revoked');
        assert.equal((await refusal(store.fleet.enrol({ tokenHash: sha('nope'), passwordHash: HASH, at: T0 + 2 }))).reason, 'unknown');
        const wrongId = await refusal(store.fleet.enrol({ tokenHash: sha('secret-et-04'), gatewayId: 'gw-other', passwordHash: HASH, at: T0 + 2 }));
        assert.equal(wrongId.reason, 'gateway-id');
        assert.equal((await store.fleet.getEnrolmentToken('et-04', T0 + 2))?.state, 'unused', 'a refused use leaves the token usable');
        assert.deepEqual(await store.listGateways(), []);
        assert.equal((await store.fleet.getEnrolmentToken('et-02', T0 + HOUR))?.state, 'expired');
        assert.deepEqual((await store.fleet.listEnrolmentTokens({ state: 'revoked' }, T0 + 2)).map((t) => t.id), ['et-03']);
        await assert.rejects(store.fleet.createEnrolmentToken(token('et-05', { siteId: 'nope' })), UnknownFleetRecordError);
      }));

    test('issue 6: of concurrent uses of one token exactly one enrols a gateway', () =>
      withStore(async (store) => {
        await store.fleet.createEnrolmentToken(token('et-10'));
        const attempts = await Promise.allSettled(
          ['gw-a', 'gw-b', 'gw-c'].map((gatewayId) => store.fleet.enrol({ tokenHash: sha('secret-et-10'), gatewayId, passwordHash: HASH, at: T0 + 5 })),
        );
        assert.equal(attempts.filter((a) => a.status === 'fulfilled').length, 1);
        assert.equal((await store.listGateways()).length, 1);
      }));

    test('issue 6: a revoked gateway is re-enrolled only by a token naming it; an enrolled one not at all', () =>
      withStore(async (store) => {
        await store.fleet.createEnrolmentToken(token('et-20', { gatewayId: 'gw-r' }));
        await store.fleet.enrol({ tokenHash: sha('secret-et-20'), passwordHash: HASH, at: T0 + 1 });
        await store.fleet.createEnrolmentToken(token('et-21', { gatewayId: 'gw-r' }));
        assert.equal((await refusal(store.fleet.enrol({ tokenHash: sha('secret-et-21'), passwordHash: 'other', at: T0 + 2 }))).reason, 'gateway-exists');
        const revoked = await store.fleet.revokeGateway('gw-r', 'admin', 'stolen box', T0 + 3);
        assert.deepEqual(revoked.revoked, { at: T0 + 3, by: 'admin', reason: 'stolen box' });
        assert.equal((await store.fleet.gatewayCredentials('gw-r'))?.revoked, true);
        await store.fleet.createEnrolmentToken(token('et-22'));
        assert.equal((await refusal(store.fleet.enrol({ tokenHash: sha('secret-et-22'), gatewayId: 'gw-r', passwordHash: 'other', at: T0 + 4 }))).reason, 'gateway-exists');
        const back = await store.fleet.enrol({ tokenHash: sha('secret-et-21'), passwordHash: 'new-hash', at: T0 + 5 });
        assert.equal(back.reEnrolled, true);
        assert.deepEqual(await store.fleet.gatewayCredentials('gw-r'), { passwordHash: 'new-hash', pendingPasswordHash: null, revoked: false });
        await assert.rejects(store.fleet.revokeGateway('gw-unknown', 'admin', 'x', T0), UnknownGatewayError);
      }));

    test('issue 6: a rotation keeps the old hash until completed with the pending one', () =>
      withStore(async (store) => {
        await store.fleet.createEnrolmentToken(token('et-30', { gatewayId: 'gw-rot' }));
        await store.fleet.enrol({ tokenHash: sha('secret-et-30'), passwordHash: 'old', at: T0 });
        await store.fleet.beginRotation('gw-rot', 'new', T0 + 1);
        assert.deepEqual(await store.fleet.gatewayCredentials('gw-rot'), { passwordHash: 'old', pendingPasswordHash: 'new', revoked: false });
        assert.equal((await store.fleet.gatewayFleet('gw-rot'))?.rotationPendingSince, T0 + 1);
        assert.equal(await store.fleet.completeRotation('gw-rot', 'stale', T0 + 2), false);
        assert.equal(await store.fleet.completeRotation('gw-rot', 'new', T0 + 2), true);
        assert.deepEqual(await store.fleet.gatewayCredentials('gw-rot'), { passwordHash: 'new', pendingPasswordHash: null, revoked: false });
        assert.equal((await store.fleet.gatewayFleet('gw-rot'))?.rotatedAt, T0 + 2);
        await store.fleet.beginRotation('gw-rot', 'newer', T0 + 3);
        await store.fleet.cancelRotation('gw-rot', 'newer');
        assert.equal((await store.fleet.gatewayCredentials('gw-rot'))?.pendingPasswordHash, null);
      }));

    test('issue 6: gateways are filtered by site, grid cell, status, device kind and text', () =>
      withStore(async (store) => {
        await store.fleet.putSite({ id: 'site-2', name: 'Harbour gate', gridCellId: null, address: 'Pier 3' }, T0);
        await store.addGateway({ id: 'gw-1', name: 'North box', passwordHash: HASH });
        await store.addGateway({ id: 'gw-2', passwordHash: HASH });
        await store.addGateway({ id: 'gw-3', passwordHash: HASH });
        await store.fleet.placeGateway('gw-1', { siteId: 'site-1' });
        await store.fleet.placeGateway('gw-2', { siteId: 'site-2', gridCellId: 'cell-7' });
        await store.setGatewayStatus('gw-1', { v: 1, state: 'online', ts: T0 }, T0);
        await store.applyBirth('gw-2', { v: 1, ts: T0, agentVersion: '1', startedAt: T0, stream: 's', devices: [{ id: 'cam-1', profile: 'p', kind: 'camera' }] }, T0);
        await store.fleet.revokeGateway('gw-3', 'admin', 'test', T0);
        const ids = async (filter: Parameters<CloudStore['fleet']['listGatewayFleet']>[0]) => (await store.fleet.listGatewayFleet(filter)).map((g) => g.gatewayId);
        assert.deepEqual(await ids({}), ['gw-1', 'gw-2', 'gw-3']);
        assert.deepEqual(await ids({ siteId: 'site-1' }), ['gw-1']);
        assert.deepEqual(await ids({ gridCellId: 'cell-7' }), ['gw-1', 'gw-2'], 'gw-1 through its site, gw-2 directly');
        assert.deepEqual(await ids({ status: 'online' }), ['gw-1']);
        assert.deepEqual(await ids({ status: 'offline' }), ['gw-2']);
        assert.deepEqual(await ids({ status: 'revoked' }), ['gw-3']);
        assert.deepEqual(await ids({ deviceKind: 'camera' }), ['gw-2']);
        assert.deepEqual(await ids({ q: 'NORTH' }), ['gw-1']);
        assert.deepEqual(await ids({ q: 'pier' }), ['gw-2']);
        assert.deepEqual(await ids({ q: '%' }), [], 'no wildcard in text search');
        await assert.rejects(store.fleet.placeGateway('gw-1', { siteId: 'nope' }), UnknownFleetRecordError);
      }));
  });
}
