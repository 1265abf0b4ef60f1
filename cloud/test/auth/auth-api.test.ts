/** Sign-in, users and API tokens through the real HTTP API and WebSocket of a running cloud. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { startCloud, type RunningCloud } from '../../src/cloud.js';
import { captureLogger, type LogCapture } from '../helpers.js';

const ADMIN_TOKEN = 'auth-test-admin-token-0123456789';
const PASSWORDS = { root: 'root password 123', ana: 'ana password 1234', vic: 'viewer password 1' };

interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

describe('issue 6: users, roles and API tokens over HTTP', () => {
  let cloud: RunningCloud;
  let logs: LogCapture;
  const call = async (method: string, path: string, token: string | null, body?: unknown): Promise<Reply> => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const response = await fetch(`${cloud.httpUrl}${path}`, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
  };
  const login = (username: string, password: string) => call('POST', '/api/v1/auth/login', null, { username, password });
  const sessionOf = async (username: keyof typeof PASSWORDS) => {
    const reply = await login(username, PASSWORDS[username]);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return reply.body.token as string;
  };
  const audit = async (action: string) => (await call('GET', `/api/v1/audit?action=${action}&limit=1000`, ADMIN_TOKEN, undefined)).body.entries as any[];

  before(async () => {
    logs = captureLogger('info');
    cloud = await startCloud({
      adminToken: ADMIN_TOKEN,
      logger: logs.logger,
      users: [
        { username: 'root', role: 'admin', password: PASSWORDS.root, name: 'Root' },
        { username: 'ana', role: 'controller', password: PASSWORDS.ana, name: 'Ana Li' },
        { username: 'vic', role: 'viewer', password: PASSWORDS.vic },
      ],
    });
  });
  after(() => cloud?.close());

  test('issue 6: login returns a session token, its expiry and the user; /auth/me says who; logout ends it', async () => {
    const reply = await login('ana', PASSWORDS.ana);
    assert.equal(reply.status, 200);
    assert.deepEqual(Object.keys(reply.body).sort(), ['expiresAt', 'token', 'user']);
    assert.match(reply.body.token, /^qlk_ses_/);
    assert.ok(Math.abs(reply.body.expiresAt - (Date.now() + 12 * 3600_000)) < 60_000);
    assert.deepEqual(reply.body.user, { username: 'ana', name: 'Ana Li', role: 'controller' });
    const token = reply.body.token as string;
    assert.deepEqual((await call('GET', '/api/v1/auth/me', token)).body, { username: 'ana', name: 'Ana Li', role: 'controller' });
    assert.deepEqual((await call('GET', '/api/v1/auth/me', ADMIN_TOKEN)).body, { username: 'admin', name: null, role: 'admin' });
    assert.equal((await call('POST', '/api/v1/auth/logout', token)).status, 204);
    const after = await call('GET', '/api/v1/auth/me', token);
    assert.equal(after.status, 401);
    assert.equal(after.headers.get('www-authenticate'), 'Bearer realm="quanlink"');
    assert.match(after.body.error.message, /not valid \(unknown, expired or revoked/);
    const withApiToken = await call('POST', '/api/v1/auth/logout', ADMIN_TOKEN);
    assert.equal(withApiToken.status, 400);
    assert.match(withApiToken.body.error.message, /logout ends a login session/);
    assert.ok((await audit('auth.login')).some((e) => e.actor === 'ana' && e.subject === 'user:ana'));
    assert.ok((await audit('auth.logout')).some((e) => e.actor === 'ana'));
  });

  test('issue 6: a wrong password and an unknown user get the same 401; failures are logged without the password', async () => {
    const wrong = await login('vic', 'not the password');
    const unknown = await login('nobody-at-all', 'not the password');
    for (const reply of [wrong, unknown]) {
      assert.equal(reply.status, 401);
      assert.deepEqual(reply.body, { error: { code: 'Unauthorized', message: 'wrong username or password' } });
    }
    const logged = logs.matching({ msg: 'login failed', username: 'vic' });
    assert.equal(logged.length, 1);
    assert.equal(logged[0]!.ip, '127.0.0.1');
    assert.ok(!JSON.stringify(logs.lines).includes('not the password'), 'no password in any log line');
    const bad = await call('POST', '/api/v1/auth/login', null, { username: 'vic', password: PASSWORDS.vic, remember: true });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /body field 'remember' is not allowed/);
    assert.equal((await call('POST', '/api/v1/auth/login', null, { username: 'vic' })).status, 400);
  });

  test('issue 6: 5 failed logins for a username lock it out for 5 minutes (429, Retry-After), audited; even the right password then waits', async () => {
    await cloud.accounts.createUser({ username: 'target', role: 'viewer', password: 'target password 1' });
    for (let i = 0; i < 5; i++) assert.equal((await login('target', `guess number ${i}`)).status, 401, `failure ${i + 1}`);
    const locked = await login('target', 'target password 1');
    assert.equal(locked.status, 429);
    assert.equal(locked.body.error.code, 'TooManyRequests');
    assert.match(locked.body.error.message, /try again in \d+ s/);
    const retryAfter = Number(locked.headers.get('retry-after'));
    assert.ok(retryAfter > 250 && retryAfter <= 300, `Retry-After ${retryAfter}`);
    const lockouts = (await audit('auth.lockout')).filter((e) => e.subject === 'user:target');
    assert.equal(lockouts.length, 1);
    assert.deepEqual([lockouts[0].details.by, lockouts[0].details.ip], ['username', '127.0.0.1']);
    // Other users on the same address are not locked by one username's failures.
    assert.equal((await login('vic', PASSWORDS.vic)).status, 200);
  });

  test('issue 6: a successful login clears its username\'s failures', async () => {
    await cloud.accounts.createUser({ username: 'typo', role: 'viewer', password: 'typo password 12' });
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 4; i++) assert.equal((await login('typo', 'wrong password!')).status, 401);
      assert.equal((await login('typo', 'typo password 12')).status, 200, `round ${round}: 4 failures then success`);
    }
  });

  test('issue 6: users: admin creates, lists, updates and deletes; never a password hash; the policy is stated', async () => {
    const session = await sessionOf('root');
    const weak = await call('POST', '/api/v1/users', session, { username: 'tom', role: 'technician', password: 'short' });
    assert.equal(weak.status, 400);
    assert.match(weak.body.error.message, /password' must NOT have fewer than 12 characters/);
    const badRole = await call('POST', '/api/v1/users', session, { username: 'tom', role: 'superuser', password: 'tom password 123' });
    assert.equal(badRole.status, 400);
    const badName = await call('POST', '/api/v1/users', session, { username: 'Tom Smith', role: 'viewer', password: 'tom password 123' });
    assert.equal(badName.status, 400);
    assert.match(badName.body.error.message, /username' must match pattern/);

    const created = await call('POST', '/api/v1/users', session, { username: 'tom', name: 'Tom', role: 'technician', password: 'tom password 123' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(Object.keys(created.body).sort(), ['createdAt', 'disabled', 'name', 'role', 'updatedAt', 'username']);
    assert.equal((await call('POST', '/api/v1/users', session, { username: 'tom', role: 'viewer', password: 'tom password 123' })).status, 409);
    const list = await call('GET', '/api/v1/users', session);
    assert.ok(list.body.users.some((u: any) => u.username === 'tom' && u.role === 'technician'));
    assert.ok(!JSON.stringify(list.body).includes('scrypt'));

    const tom = (await login('tom', 'tom password 123')).body.token as string;
    const patched = await call('PATCH', '/api/v1/users/tom', session, { role: 'viewer', name: null, password: 'tom new password' });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual([patched.body.role, patched.body.name], ['viewer', null]);
    assert.equal((await call('GET', '/api/v1/auth/me', tom)).status, 401, 'a new password ends the sessions');
    assert.equal((await call('PATCH', '/api/v1/users/tom', session, {})).status, 400, 'an empty patch');
    assert.equal((await call('PATCH', '/api/v1/users/tom', session, { password: 'x' })).status, 400);
    assert.equal((await call('PATCH', '/api/v1/users/ghost', session, { role: 'viewer' })).status, 404);

    const updates = (await audit('user.update')).filter((e) => e.subject === 'user:tom');
    assert.deepEqual(updates[0].details, { role: 'viewer', name: null, passwordChanged: true });
    assert.equal(updates[0].actor, 'root');
    assert.ok(!JSON.stringify(await audit('user.update')).includes('tom new password'));
    assert.equal((await call('DELETE', '/api/v1/users/tom', session)).status, 204);
    assert.equal((await call('DELETE', '/api/v1/users/tom', session)).status, 404);
    assert.deepEqual((await audit('user.delete')).map((e) => [e.actor, e.subject]), [['root', 'user:tom']]);
    assert.deepEqual((await audit('user.create')).filter((e) => e.subject === 'user:tom').map((e) => e.details), [{ role: 'technician', name: 'Tom' }]);
  });

  test('issue 6: the last enabled admin cannot be deleted, demoted or disabled (409)', async () => {
    const deleted = await call('DELETE', '/api/v1/users/root', ADMIN_TOKEN);
    assert.equal(deleted.status, 409);
    assert.match(deleted.body.error.message, /'root' is the last enabled admin/);
    assert.equal((await call('PATCH', '/api/v1/users/root', ADMIN_TOKEN, { role: 'viewer' })).status, 409);
    assert.equal((await call('PATCH', '/api/v1/users/root', ADMIN_TOKEN, { disabled: true })).status, 409);
    assert.equal((await call('GET', '/api/v1/auth/me', await sessionOf('root'))).body.role, 'admin');
  });

  test('issue 6: API tokens: shown once, listed without secrets, revoked; a user manages its own, only admins others\'', async () => {
    const vic = await sessionOf('vic');
    const created = await call('POST', '/api/v1/users/vic/tokens', vic, { name: 'wall display', expiresInDays: 30 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const apiToken = created.body.token as string;
    assert.match(apiToken, /^qlk_api_[0-9a-f]{16}_/);
    assert.equal(created.body.record.name, 'wall display');
    assert.equal(created.body.record.active, true);
    assert.deepEqual((await call('GET', '/api/v1/auth/me', apiToken)).body, { username: 'vic', name: null, role: 'viewer' });

    const listed = await call('GET', '/api/v1/users/vic/tokens', vic);
    assert.equal(listed.body.tokens.length, 1);
    assert.ok(!JSON.stringify(listed.body).includes(apiToken.slice(-32)), 'no secret in the listing');
    assert.deepEqual(Object.keys(listed.body.tokens[0]).sort(), ['active', 'createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'revokedAt', 'username']);

    const ana = await sessionOf('ana');
    const notHers = await call('POST', '/api/v1/users/vic/tokens', ana, { name: 'sneaky' });
    assert.equal(notHers.status, 403);
    assert.match(notHers.body.error.message, /user 'ana' has role 'controller'; managing the tokens of user 'vic' needs admin/);
    assert.equal((await call('GET', '/api/v1/users/vic/tokens', ana)).status, 403);
    assert.equal((await call('DELETE', `/api/v1/users/vic/tokens/${created.body.record.id}`, ana)).status, 403);
    assert.equal((await call('GET', '/api/v1/users/vic/tokens', ADMIN_TOKEN)).status, 200, 'admins see everyone\'s');
    assert.equal((await call('POST', '/api/v1/users/ghost/tokens', ADMIN_TOKEN, { name: 'x' })).status, 404);
    assert.equal((await call('POST', '/api/v1/users/vic/tokens', vic, { name: 'x', expiresInDays: 0 })).status, 400);
    assert.equal((await call('POST', '/api/v1/users/vic/tokens', vic, { name: 'x', scope: 'all' })).status, 400);

    const id = created.body.record.id as string;
    assert.equal((await call('DELETE', `/api/v1/users/ana/tokens/${id}`, ADMIN_TOKEN)).status, 404, 'the token is not ana\'s');
    assert.equal((await call('DELETE', `/api/v1/users/vic/tokens/${id}`, vic)).status, 204);
    assert.equal((await call('GET', '/api/v1/auth/me', apiToken)).status, 401, 'revoked at once');
    assert.equal((await call('GET', '/api/v1/users/vic/tokens', vic)).body.tokens[0].active, false);
    const creates = (await audit('token.create')).filter((e) => e.subject === 'user:vic');
    assert.deepEqual([creates[0].actor, creates[0].details.id, creates[0].details.name], ['vic', id, 'wall display']);
    assert.ok(!JSON.stringify(creates).includes(apiToken));
    assert.deepEqual((await audit('token.revoke')).map((e) => [e.actor, e.details.id]), [['vic', id]]);
  });

  test('issue 6: a disabled user\'s tokens stop working and it cannot log in', async () => {
    await cloud.accounts.createUser({ username: 'leaver', role: 'technician', password: 'leaver password' });
    const session = (await login('leaver', 'leaver password')).body.token as string;
    const apiToken = (await call('POST', '/api/v1/users/leaver/tokens', session, { name: 'script' })).body.token as string;
    assert.equal((await call('PATCH', '/api/v1/users/leaver', ADMIN_TOKEN, { disabled: true })).status, 200);
    assert.equal((await call('GET', '/api/v1/gateways', session)).status, 401);
    assert.equal((await call('GET', '/api/v1/gateways', apiToken)).status, 401);
    const refused = await login('leaver', 'leaver password');
    assert.equal(refused.status, 401);
    assert.match(refused.body.error.message, /user 'leaver' is disabled/);
  });

  test('issue 6: without a token a write is 401 before its body is validated (no schema probing)', async () => {
    const reply = await call('POST', '/api/v1/users', null, { nonsense: true });
    assert.equal(reply.status, 401);
    assert.match(reply.body.error.message, /needs 'Authorization: Bearer <token>'/);
    assert.equal((await call('POST', '/api/v1/messages', 'qlk_api_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', { bogus: 1 })).status, 401);
  });

  test('issue 6: the WebSocket takes a session token in ?token=; refuses a missing, wrong or revoked one with 401', async () => {
    const wsUrl = `${cloud.httpUrl.replace('http', 'ws')}/api/v1/ws?topics=audit`;
    const statusOf = (socket: WebSocket) =>
      new Promise<number>((resolve, reject) => {
        socket.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
        socket.once('open', () => reject(new Error('the upgrade was accepted')));
      });
    assert.equal(await statusOf(new WebSocket(wsUrl)), 401);
    const session = await sessionOf('vic');
    const ws = new WebSocket(`${wsUrl}&token=${encodeURIComponent(session)}`);
    const lines: any[] = [];
    ws.on('message', (data) => lines.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    assert.equal(await cloud.live.revalidate(), 0, 'a valid session keeps its feed');
    assert.equal((await call('POST', '/api/v1/auth/logout', session)).status, 204);
    // The periodic check (every minute) ends a feed whose session ended; run it now.
    assert.equal(await cloud.live.revalidate(), 1);
    assert.equal(await closed, 1008);
    assert.equal(await statusOf(new WebSocket(`${wsUrl}&token=${encodeURIComponent(session)}`)), 401, 'after logout');
  });

  // Last: it locks this test's address out of logging in.
  test('issue 6: 20 failed logins from one address, whatever the usernames, lock the address out (429), audited', async () => {
    let failures = 0;
    let reply = await login('spray-0', 'some guess here');
    while (reply.status === 401 && failures < 25) {
      failures++;
      reply = await login(`spray-${failures}`, 'some guess here');
    }
    assert.equal(reply.status, 429, `still ${reply.status} after ${failures} failures`);
    assert.ok(failures <= 20, `${failures} failures before the address was locked`);
    assert.ok(Number(reply.headers.get('retry-after')) > 0);
    const refused = await login('vic', PASSWORDS.vic);
    assert.equal(refused.status, 429, 'the right password of another user from the same address waits too');
    const lockouts = (await audit('auth.lockout')).filter((e) => e.details.by === 'address');
    assert.equal(lockouts.length, 1);
    assert.equal(lockouts[0].details.ip, '127.0.0.1');
    assert.equal(lockouts[0].actor, 'anonymous@127.0.0.1');
    assert.equal((await call('GET', '/api/v1/auth/me', ADMIN_TOKEN)).status, 200, 'tokens keep working: only logins are limited');
  });
});
