/** The WebSocket push on its own: topic filter, and a slow client dropped without holding back the others. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { LiveHub } from '../../src/dispatch/live.js';
import { captureLogger, waitFor, type LogCapture } from '../helpers.js';

let server: Server;
let hub: LiveHub;
let logs: LogCapture;
let url: string;
const GOOD_TOKEN = 'qlk_api_0123456789abcdef_good-token-for-the-live-hub-ok';

before(async () => {
  logs = captureLogger('info');
  hub = new LiveHub(logs.logger, 256 * 1024);
  server = createServer((_req, res) => res.end());
  // A unit test of the hub: one known token stands for the signed-in user (Accounts is tested in test/auth).
  hub.attach(server, async (token) => (token === GOOD_TOKEN ? { username: 'viewer-1' } : undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/ws`;
});
after(async () => {
  await hub.close();
  await new Promise((resolve) => server.close(resolve));
});

async function open(query = ''): Promise<{ socket: WebSocket; lines: any[] }> {
  const socket = new WebSocket(url + query, { headers: { authorization: `Bearer ${GOOD_TOKEN}` } });
  const lines: any[] = [];
  socket.on('message', (data) => lines.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => (socket.once('open', resolve), socket.once('error', reject)));
  return { socket, lines };
}

test('issue 4: a slow WebSocket client is dropped (logged) while a fast one gets every event in order', async () => {
  const fast = await open('?topics=audit');
  const slow = await open();
  const filtered = await open('?topics=dispatch');
  await waitFor(() => hub.clients() === 3, 'three clients');
  // The slow client stops reading: its server-side buffer grows until the bound.
  (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();
  const filler = 'x'.repeat(64 * 1024);
  const total = 200;
  for (let i = 0; i < total; i++) {
    hub.publish({ type: 'audit', entry: { id: i, at: i, actor: 'admin', action: 'test', subject: 's', details: { filler } } });
    if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await waitFor(() => fast.lines.length === total, 'fast client got everything', 10_000);
  assert.deepEqual(fast.lines.map((l) => l.entry.id), Array.from({ length: total }, (_, i) => i));
  assert.equal(filtered.lines.length, 0, 'topics filter');
  assert.ok(logs.matching({ msg: 'live client too slow; dropped' }).length >= 1);
  await waitFor(() => hub.clients() === 2, 'slow client gone');
  fast.socket.close();
  filtered.socket.close();
});

test('issue 4: other upgrade paths and unknown topics are refused', async () => {
  const wrongPath = new WebSocket(url.replace('/api/v1/ws', '/other'));
  const notFound = await new Promise<number>((resolve) => wrongPath.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0)));
  assert.equal(notFound, 404);
  const bad = new WebSocket(`${url}?topics=dispatch,bogus&token=${GOOD_TOKEN}`);
  const badStatus = await new Promise<number>((resolve) => bad.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0)));
  assert.equal(badStatus, 400);
});

test('issue 6: the live feed needs a valid token, in the Authorization header or ?token=; 401 otherwise', async () => {
  const statusOf = (socket: WebSocket) =>
    new Promise<number>((resolve, reject) => {
      socket.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      socket.once('open', () => reject(new Error('the upgrade was accepted')));
    });
  assert.equal(await statusOf(new WebSocket(`${url}?topics=audit`)), 401, 'no token');
  assert.equal(await statusOf(new WebSocket(`${url}?token=not-a-token`)), 401, 'unknown token in the query');
  assert.equal(await statusOf(new WebSocket(url, { headers: { authorization: 'Bearer not-a-token' } })), 401, 'unknown token in the header');
  // Unknown topics are only revealed to signed-in users.
  assert.equal(await statusOf(new WebSocket(`${url}?topics=bogus`)), 401);
  const viaQuery = new WebSocket(`${url}?topics=audit&token=${GOOD_TOKEN}`);
  await new Promise((resolve, reject) => (viaQuery.once('open', resolve), viaQuery.once('error', reject)));
  viaQuery.close();
});
