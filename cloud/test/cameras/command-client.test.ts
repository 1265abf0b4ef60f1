/** CommandClient on its own (a fake ingest, in-process): matching by tx and gateway, routing of other results, offline and timeout errors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Command, CommandResult, GatewayStatus } from '@quanlink/contracts';
import { CommandClient, CommandTimeoutError, GatewayOfflineError } from '../../src/commands/command-client.js';
import type { IngestListener } from '../../src/ingest/ingest.js';
import { captureLogger, waitFor } from '../helpers.js';

class FakeIngest {
  readonly sent: { gatewayId: string; command: Command }[] = [];
  readonly listeners = new Set<IngestListener>();
  listen(listener: IngestListener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  async publish(gatewayId: string, _channel: string, command: Command) {
    this.sent.push({ gatewayId, command });
  }
  result(gatewayId: string, result: CommandResult) {
    for (const l of this.listeners) l.commandResult?.(gatewayId, result);
  }
  status(gatewayId: string, status: GatewayStatus) {
    for (const l of this.listeners) l.status?.(gatewayId, status);
  }
}

function setup(online: Record<string, boolean>) {
  const ingest = new FakeIngest();
  const store = { getGateway: async (id: string) => (id in online ? ({ id, online: online[id] } as never) : undefined) };
  const client = new CommandClient({ ingest: ingest as never, store, logger: captureLogger('warn').logger, defaultTimeoutMs: 200 });
  return { ingest, client };
}

const ok = (tx: string, data: Record<string, unknown> = {}): CommandResult => ({ v: 1, tx, ts: Date.now(), status: 'ok', data });

test('issue 5: a result resolves only the command of its tx and gateway; other results go to the unclaimed handlers', async () => {
  const { ingest, client } = setup({ 'gw-1': true, 'gw-2': true });
  const unclaimed: [string, string][] = [];
  client.onUnclaimedResult((gatewayId, result) => unclaimed.push([gatewayId, result.tx]));
  const answer = client.send('gw-1', 'snapshot.get', { id: 'snap-1' });
  await waitFor(() => ingest.sent.length === 1, 'command published');
  const { command } = ingest.sent[0]!;
  assert.equal(command.name, 'snapshot.get');
  assert.deepEqual(command.args, { id: 'snap-1' });
  ingest.result('gw-2', ok(command.tx)); // another gateway cannot answer for gw-1
  ingest.result('gw-1', ok('t-sign-dispatch')); // e.g. a sign.display result
  assert.equal(client.waiting(), 1);
  ingest.result('gw-1', ok(command.tx, { id: 'snap-1' }));
  const result = await answer;
  assert.equal(result.tx, command.tx);
  assert.deepEqual(result.status === 'ok' && result.data, { id: 'snap-1' });
  assert.deepEqual(unclaimed, [['gw-2', command.tx], ['gw-1', 't-sign-dispatch']]);
  ingest.result('gw-1', ok(command.tx));
  assert.deepEqual(unclaimed.at(-1), ['gw-1', command.tx], 'a late duplicate is no longer claimed');
  client.close();
});

test('issue 5: offline, not registered, timeout, went offline while waiting, bad args', async () => {
  const { ingest, client } = setup({ 'gw-1': false, 'gw-2': true });
  await assert.rejects(client.send('gw-1', 'snapshot.get', { id: 's' }), (err: Error) => err instanceof GatewayOfflineError && err.message === 'gateway gw-1 is offline');
  await assert.rejects(client.send('gw-9', 'snapshot.get', { id: 's' }), /gateway gw-9 is not registered/);
  assert.equal(ingest.sent.length, 0);
  await assert.rejects(
    client.send('gw-2', 'snapshot.get', { id: 's' }, { timeoutMs: 50 }),
    (err: Error) => err instanceof CommandTimeoutError && err.message === 'gateway gw-2 did not answer snapshot.get within 50 ms',
  );
  const waiting = client.send('gw-2', 'snapshot.get', { id: 's' });
  await waitFor(() => client.waiting() === 1, 'waiting');
  ingest.status('gw-2', { v: 1, state: 'offline', ts: Date.now() });
  await assert.rejects(waiting, /gateway gw-2 went offline before answering snapshot.get/);
  await assert.rejects(client.send('gw-2', 'snapshot.get', { id: '../etc/passwd' }), /command snapshot.get: args.id/);
  assert.equal(client.waiting(), 0);
  client.close();
});
