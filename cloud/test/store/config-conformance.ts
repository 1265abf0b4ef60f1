/**
 * The ConfigStore conformance suite (run by storeConformance for every CloudStore): desired versions
 * with optimistic concurrency, outcomes, the reported side (directly and inside ingest), secrets
 * forgotten once applied, history.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configSha256, type ConfigReportedData, type GatewayEvent, type ManagedConfig } from '@quanlink/contracts';
import { ConfigVersionConflictError } from '../../src/config-shadow/types.js';
import { UnknownGatewayError, type CloudStore } from '../../src/store/types.js';
import type { StoreFactory } from './conformance.js';

const HASH = '$scrypt$ln=14,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
const T0 = 1_760_000_000_000;
const GW = 'gw-cfg';

const withSecret: ManagedConfig = {
  devices: [{ id: 'gantry-1', profile: 'quanlink-vms-g1', transport: { kind: 'mqtt', url: 'mqtt://10.0.0.2:1883', username: 'sign', password: 'sign-secret' } }],
};
const plain: ManagedConfig = { devices: [{ id: 'loop-1', profile: 'quanlink-lc8', transport: { kind: 'modbus-tcp', host: '10.0.0.5', port: 502 } }] };

function desired(store: CloudStore, config: ManagedConfig, extra: { baseVersion?: number; setAt?: number } = {}) {
  return store.configs.putDesired({ gatewayId: GW, config, sha256: configSha256(config), setBy: 'tech-1', setAt: extra.setAt ?? T0, baseVersion: extra.baseVersion });
}

function report(config: ManagedConfig, version: number, source: 'cloud' | 'local', appliedAt: number): ConfigReportedData {
  return { version, sha256: configSha256(config), source, appliedAt, config };
}

export function configConformance(name: string, factory: StoreFactory): void {
  function withStore(title: string, body: (store: CloudStore) => Promise<void>): void {
    test(title, async () => {
      const store = await factory();
      try {
        await store.addGateway({ id: GW, passwordHash: HASH, createdAt: T0 });
        await body(store);
      } finally {
        await store.close();
      }
    });
  }

  describe(`ConfigStore conformance: ${name}`, () => {
    withStore('issue 6: desired versions count up from 1; baseVersion must be the current one; unknown gateways are refused', async (store) => {
      assert.deepEqual(await store.configs.getShadow(GW), { desired: null, reported: null, lastError: null });
      const first = await desired(store, plain, { baseVersion: 0 });
      assert.equal(first.version, 1);
      assert.equal(first.outcome, 'pending');
      assert.equal(first.setBy, 'tech-1');
      assert.equal((await desired(store, withSecret)).version, 2);
      await assert.rejects(desired(store, plain, { baseVersion: 1 }), (err: unknown) => err instanceof ConfigVersionConflictError && err.currentVersion === 2);
      assert.equal((await desired(store, plain, { baseVersion: 2 })).version, 3);
      await assert.rejects(
        store.configs.putDesired({ gatewayId: 'gw-nobody', config: plain, sha256: configSha256(plain), setBy: 'x', setAt: T0 }),
        UnknownGatewayError,
      );
      assert.equal((await store.configs.getShadow(GW)).desired?.version, 3);
    });

    withStore('issue 6: a refusal is the last error until a later version is applied; an applied version forgets its secrets', async (store) => {
      await desired(store, plain);
      await store.configs.recordOutcome(GW, 1, { applied: false, code: 'InvalidConfig', message: 'devices[0].profile: unknown' }, T0 + 1);
      let shadow = await store.configs.getShadow(GW);
      assert.equal(shadow.desired?.outcome, 'rejected');
      assert.deepEqual(shadow.lastError, { version: 1, code: 'InvalidConfig', message: 'devices[0].profile: unknown', at: T0 + 1 });

      await desired(store, withSecret);
      assert.equal((await store.configs.getShadow(GW)).lastError?.version, 1, 'still shown while version 2 is pending');
      assert.equal((await store.configs.getShadow(GW)).desired?.config.devices[0]!.transport.password, 'sign-secret', 'kept until applied');
      await store.configs.recordOutcome(GW, 2, { applied: true }, T0 + 2);
      shadow = await store.configs.getShadow(GW);
      assert.equal(shadow.desired?.outcome, 'applied');
      assert.equal(shadow.lastError, null);
      assert.equal(shadow.desired?.config.devices[0]!.transport.password, undefined, 'the secret is on the gateway now');
      assert.equal(shadow.desired?.sha256, configSha256(withSecret));
      // An applied version stays applied.
      await store.configs.recordOutcome(GW, 2, { applied: false, code: 'StaleVersion', message: 'late' }, T0 + 3);
      assert.equal((await store.configs.getShadow(GW)).desired?.outcome, 'applied');
    });

    withStore('issue 6: the reported side keeps the newest report; a cloud report of the desired version settles it as applied', async (store) => {
      await desired(store, plain);
      await store.configs.recordReported(GW, report(plain, 1, 'cloud', T0 + 10), T0 + 11);
      let shadow = await store.configs.getShadow(GW);
      assert.equal(shadow.desired?.outcome, 'applied');
      assert.deepEqual(shadow.reported, { gatewayId: GW, version: 1, sha256: configSha256(plain), source: 'cloud', appliedAt: T0 + 10, receivedAt: T0 + 11, config: plain });

      // A local edit: same version, other digest (drift).
      await store.configs.recordReported(GW, report(withSecret, 1, 'local', T0 + 20), T0 + 21);
      shadow = await store.configs.getShadow(GW);
      assert.equal(shadow.reported?.source, 'local');
      assert.equal(shadow.reported?.config?.devices[0]!.transport.password, undefined, 'reported configs never hold secrets');
      // An older report arriving late changes nothing.
      await store.configs.recordReported(GW, report(plain, 1, 'cloud', T0 + 15), T0 + 30);
      assert.equal((await store.configs.getShadow(GW)).reported?.appliedAt, T0 + 20);

      const history = await store.configs.history(GW);
      assert.deepEqual(
        history.map((h) => `${h.kind}:${h.version}:${h.source ?? h.actor ?? ''}`),
        ['reported:1:cloud', 'reported:1:local', 'applied:1:', 'reported:1:cloud', 'desired:1:tech-1'],
      );
      assert.equal((await store.configs.history(GW, 2)).length, 2);
    });

    withStore('issue 6: config.reported events are applied inside the ingest transaction, once', async (store) => {
      await desired(store, plain);
      const event = { seq: 1, ts: T0 + 5, type: 'config.reported', data: report(plain, 1, 'cloud', T0 + 5) } as GatewayEvent;
      const batch = { stream: 'stream-config-0001', first: 1, last: 1 };
      await store.ingestBatch(GW, batch, [event], [], T0 + 6);
      await store.ingestBatch(GW, batch, [event], [], T0 + 7);
      const shadow = await store.configs.getShadow(GW);
      assert.equal(shadow.desired?.outcome, 'applied');
      assert.equal(shadow.reported?.receivedAt, T0 + 6);
      assert.equal((await store.configs.history(GW)).filter((h) => h.kind === 'reported').length, 1, 'a resent batch is not reported twice');
    });
  });
}
