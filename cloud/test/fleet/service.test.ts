/** FleetService rotation outcomes that a live gateway rarely shows: no answer in time, gone offline while sending. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { verifySecret } from '../../src/auth/secrets.js';
import { CommandTimeoutError, GatewayOfflineError } from '../../src/commands/command-client.js';
import { checkGatewayPassword } from '../../src/fleet/credentials.js';
import { FleetService, NoPendingRotationError, RotationError } from '../../src/fleet/service.js';
import { UnknownGatewayError } from '../../src/store/types.js';
import { registerGateway } from '../../src/registry.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

async function setUp(failure: Error) {
  const store = new SqliteStore(':memory:');
  const { password } = await registerGateway(store, 'gw-1');
  await store.setGatewayStatus('gw-1', { v: 1, state: 'online', ts: Date.now() }, Date.now());
  const sent: string[] = [];
  const commands = {
    send: async (_gatewayId: string, _name: string, args: Record<string, unknown>) => {
      sent.push(args.password as string);
      throw failure;
    },
  };
  const fleet = new FleetService({ store, commands: commands as never, mqttUrl: 'mqtt://127.0.0.1:1', logger: pino({ level: 'silent' }) });
  return { store, fleet, password, sent };
}

describe('issue 6: credential rotation outcomes', () => {
  test('issue 6: no answer in time: 504, and both the old and the sent password stay valid', async () => {
    const { store, fleet, password, sent } = await setUp(new CommandTimeoutError('gw-1', 'credentials.rotate', 10));
    await assert.rejects(fleet.rotate('gw-1', 'admin'), (err: unknown) => err instanceof RotationError && err.status === 504 && /both stay valid|both passwords stay valid/.test(err.message));
    const pending = (await store.fleet.gatewayCredentials('gw-1'))!.pendingPasswordHash!;
    assert.ok(await verifySecret(sent[0]!, pending));
    assert.equal(await checkGatewayPassword(store, 'gw-1', password), 'ok', 'old still accepted');
    assert.equal(await checkGatewayPassword(store, 'gw-1', sent[0]!), 'ok', 'new accepted, and now the only one');
    assert.equal(await checkGatewayPassword(store, 'gw-1', password), 'wrong');
    await store.close();
  });

  test('issue 6: rotation lockout: a second rotation while one is unconfirmed is refused (409) and the pending password keeps working', async () => {
    const { store, fleet, password, sent } = await setUp(new CommandTimeoutError('gw-1', 'credentials.rotate', 10));
    await assert.rejects(fleet.rotate('gw-1', 'admin'), (err: unknown) => err instanceof RotationError && err.status === 504);
    const pendingSince = (await store.fleet.gatewayFleet('gw-1'))!.rotationPendingSince!;
    // The gateway stored sent[0] but has not reconnected yet; it is still online with the old password.
    await assert.rejects(
      fleet.rotate('gw-1', 'admin'),
      (err: unknown) =>
        err instanceof RotationError &&
        err.status === 409 &&
        err.message.includes(`gateway 'gw-1' has an unconfirmed rotation pending since ${new Date(pendingSince).toISOString()}`) &&
        /completes when the gateway connects with that password/.test(err.message) &&
        /re-enrol it with a token issued for its id/.test(err.message),
    );
    assert.equal(sent.length, 1, 'no second password was sent');
    assert.equal(await checkGatewayPassword(store, 'gw-1', sent[0]!), 'ok', 'the gateway that stored the first new password gets in');
    assert.equal(await checkGatewayPassword(store, 'gw-1', password), 'wrong', 'and the old one is dropped');
    // Confirmed: a new rotation may start again.
    await assert.rejects(fleet.rotate('gw-1', 'admin'), (err: unknown) => err instanceof RotationError && err.status === 504);
    assert.equal(sent.length, 2);
    await store.close();
  });

  test('issue 6: offline while sending: 409 and nothing pending', async () => {
    const { store, fleet, password } = await setUp(new GatewayOfflineError('gw-1', 'credentials.rotate'));
    await assert.rejects(fleet.rotate('gw-1', 'admin'), (err: unknown) => err instanceof RotationError && err.status === 409 && /nothing changed/.test(err.message));
    assert.equal((await store.fleet.gatewayCredentials('gw-1'))!.pendingPasswordHash, null);
    assert.equal(await checkGatewayPassword(store, 'gw-1', password), 'ok');
    await store.fleet.revokeGateway('gw-1', 'admin', 'test', Date.now());
    assert.equal(await checkGatewayPassword(store, 'gw-1', password), 'revoked', 'a revoked gateway is refused whatever it sends');
    await store.close();
  });

  test('issue 6: cancel a pending rotation: the sent password is dropped, the current one stays, a new rotation may start; audited', async () => {
    const { store, fleet, password, sent } = await setUp(new CommandTimeoutError('gw-1', 'credentials.rotate', 10));
    await assert.rejects(fleet.rotate('gw-1', 'admin'), (err: unknown) => err instanceof RotationError && err.status === 504);
    const pendingSince = (await store.fleet.gatewayFleet('gw-1'))!.rotationPendingSince!;
    assert.deepEqual(await fleet.cancelRotation('gw-1', 'ana'), { pendingSince });
    assert.equal((await store.fleet.gatewayCredentials('gw-1'))!.pendingPasswordHash, null);
    assert.equal((await store.fleet.gatewayFleet('gw-1'))!.rotationPendingSince, null);
    assert.equal(await checkGatewayPassword(store, 'gw-1', sent[0]!), 'wrong', 'the cancelled password no longer gets in');
    assert.equal(await checkGatewayPassword(store, 'gw-1', password), 'ok', 'the current one still does');
    const audit = (await store.dispatch.listAudit({ limit: 10 })).find((entry) => entry.action === 'gateway.rotate-credentials.cancel');
    assert.ok(audit, 'the cancel is audited');
    assert.equal(audit.actor, 'ana');
    assert.equal(audit.subject, 'gateway:gw-1');
    // No longer blocked: the next rotation is sent (and here times out again).
    await assert.rejects(fleet.rotate('gw-1', 'admin'), (err: unknown) => err instanceof RotationError && err.status === 504);
    assert.equal(sent.length, 2);
    await store.close();
  });

  test('issue 6: cancel with no pending rotation is NoPendingRotationError (404), an unknown gateway UnknownGatewayError', async () => {
    const { store, fleet, password, sent } = await setUp(new CommandTimeoutError('gw-1', 'credentials.rotate', 10));
    await assert.rejects(fleet.cancelRotation('gw-1', 'admin'), (err: unknown) => err instanceof NoPendingRotationError && /no pending credential rotation/.test(err.message));
    await assert.rejects(fleet.cancelRotation('gw-nope', 'admin'), (err: unknown) => err instanceof UnknownGatewayError && /gw-nope/.test(err.message));
    // Completed by the gateway's connect with the new password: nothing left to cancel, and the new password stays.
    await assert.rejects(fleet.rotate('gw-1', 'admin'), (err: unknown) => err instanceof RotationError && err.status === 504);
    assert.equal(await checkGatewayPassword(store, 'gw-1', sent[0]!), 'ok');
    await assert.rejects(fleet.cancelRotation('gw-1', 'admin'), (err: unknown) => err instanceof NoPendingRotationError);
    assert.equal(await checkGatewayPassword(store, 'gw-1', sent[0]!), 'ok');
    assert.equal(await checkGatewayPassword(store, 'gw-1', password), 'wrong');
    await store.close();
  });
});
