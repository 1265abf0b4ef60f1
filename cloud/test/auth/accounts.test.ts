/** Accounts over a real SQLite store with a test clock: passwords, sessions, API tokens, authentication. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Accounts, AccountRuleError, BOOTSTRAP_ADMIN, SESSION_TTL_MS } from '../../src/auth/accounts.js';
import { hashToken } from '../../src/auth/secrets.js';
import { parseToken } from '../../src/auth/tokens.js';
import { LastAdminError } from '../../src/auth/types.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const ADMIN_TOKEN = 'bootstrap-admin-token-0123456789';
const DAY = 24 * 60 * 60 * 1000;

describe('issue 6: accounts', () => {
  let store: SqliteStore;
  let accounts: Accounts;
  const clock = { t: 1_760_000_000_000 };

  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    accounts = new Accounts({ users: store.users, adminToken: ADMIN_TOKEN, now: () => clock.t });
    await accounts.createUser({ username: 'root', role: 'admin', password: 'root password 123' });
    await accounts.createUser({ username: 'ana', name: 'Ana Li', role: 'controller', password: 'ana password 123' });
  });
  afterEach(() => store.close());

  test('issue 6: passwords are stored as scrypt hashes; the policy asks for 12 characters and says so', async () => {
    const hash = await store.users.passwordHash('ana');
    assert.match(hash!, /^\$scrypt\$/);
    assert.ok(!hash!.includes('ana password'));
    await assert.rejects(
      accounts.createUser({ username: 'bob', role: 'viewer', password: 'short-11ch!' }),
      (err: unknown) => err instanceof AccountRuleError && err.message === 'password must be at least 12 characters long (it has 11)',
    );
    await assert.rejects(accounts.createUser({ username: 'Bob', role: 'viewer', password: 'long enough pass' }), /username 'Bob' must match/);
    await assert.rejects(accounts.updateUser('ana', { password: 'too short' }), /at least 12 characters/);
    assert.equal(await store.users.getUser('bob'), undefined);
  });

  test('issue 6: login opens a 12 h session whose token names its kind; wrong or unknown users fail alike', async () => {
    const ok = await accounts.login('ana', 'ana password 123');
    assert.ok(ok.ok);
    assert.match(ok.token, /^qlk_ses_[0-9a-f]{16}_[A-Za-z0-9_-]{32}$/);
    assert.equal(ok.expiresAt, clock.t + SESSION_TTL_MS);
    const stored = await store.users.tokenForAuth(parseToken(ok.token)!.id);
    assert.equal(stored?.secretHash, hashToken(ok.token), 'only the sha256 of the token is stored');
    assert.deepEqual(await accounts.login('ana', 'wrong password!!'), { ok: false, reason: 'wrong password' });
    assert.deepEqual(await accounts.login('nobody', 'ana password 123'), { ok: false, reason: 'unknown user' });
    assert.deepEqual(await accounts.login('NOT A NAME', 'x'), { ok: false, reason: 'unknown user' });

    assert.deepEqual(await accounts.authenticate(ok.token), { username: 'ana', role: 'controller', name: 'Ana Li', credential: { kind: 'session', tokenId: stored!.token.id } });
    clock.t += SESSION_TTL_MS;
    assert.equal(await accounts.authenticate(ok.token), undefined, 'expired after 12 h');
  });

  test('issue 6: a tampered, truncated or kind-swapped token is refused; the bootstrap admin token is user admin', async () => {
    const ok = await accounts.login('ana', 'ana password 123');
    assert.ok(ok.ok);
    const last = ok.token.at(-1) === 'A' ? 'B' : 'A';
    assert.equal(await accounts.authenticate(ok.token.slice(0, -1) + last), undefined);
    assert.equal(await accounts.authenticate(ok.token.slice(0, -1)), undefined);
    assert.equal(await accounts.authenticate(ok.token.replace('qlk_ses_', 'qlk_api_')), undefined);
    assert.equal(await accounts.authenticate(''), undefined);
    assert.deepEqual(await accounts.authenticate(ADMIN_TOKEN), BOOTSTRAP_ADMIN);
    assert.equal(await accounts.authenticate(ADMIN_TOKEN + 'x'), undefined);
  });

  test('issue 6: API tokens: optional expiry, revocation, and they follow the user (role change, disabled, deleted)', async () => {
    const forever = await accounts.issueApiToken('ana', 'wall display');
    const weekly = await accounts.issueApiToken('ana', 'export', 7);
    assert.match(forever.token, /^qlk_api_/);
    assert.equal(forever.record.expiresAt, null);
    assert.equal(weekly.record.expiresAt, clock.t + 7 * DAY);
    await assert.rejects(accounts.issueApiToken('ana', 'x', 0), /between 1 and 3650/);
    await assert.rejects(accounts.issueApiToken('ghost', 'x'), /user 'ghost' not found/);

    assert.equal((await accounts.authenticate(forever.token))?.role, 'controller');
    await accounts.updateUser('ana', { role: 'viewer' });
    assert.equal((await accounts.authenticate(forever.token))?.role, 'viewer', 'the current role, not the one at issue');
    clock.t += 7 * DAY;
    assert.equal(await accounts.authenticate(weekly.token), undefined, 'expired');
    assert.ok(await accounts.authenticate(forever.token));
    assert.equal((await store.users.getToken(forever.record.id))?.lastUsedAt, clock.t, 'use is recorded');

    await accounts.updateUser('ana', { disabled: true });
    assert.equal(await accounts.authenticate(forever.token), undefined, 'disabled user');
    await accounts.updateUser('ana', { disabled: false });
    assert.ok(await accounts.authenticate(forever.token), 'enabled again');
    await store.users.revokeToken(forever.record.id, clock.t);
    assert.equal(await accounts.authenticate(forever.token), undefined, 'revoked');

    const other = await accounts.issueApiToken('ana', 'other');
    await store.users.deleteUser('ana');
    assert.equal(await accounts.authenticate(other.token), undefined, 'deleted user');
  });

  test('issue 6: a new password or disabling ends the sessions; a disabled user cannot log in', async () => {
    const before = await accounts.login('ana', 'ana password 123');
    assert.ok(before.ok);
    await accounts.updateUser('ana', { password: 'new ana password' });
    assert.equal(await accounts.authenticate(before.token), undefined);
    assert.deepEqual(await accounts.login('ana', 'ana password 123'), { ok: false, reason: 'wrong password' });
    const again = await accounts.login('ana', 'new ana password');
    assert.ok(again.ok);
    await accounts.updateUser('ana', { disabled: true });
    assert.equal(await accounts.authenticate(again.token), undefined);
    const refused = await accounts.login('ana', 'new ana password');
    assert.equal(!refused.ok && refused.reason, 'user disabled');
  });

  test('issue 6: seeding creates missing users only and is idempotent; the last admin rule holds through accounts', async () => {
    const seed = [
      { username: 'root', role: 'admin' as const, password: 'another password' },
      { username: 'tech', role: 'technician' as const, password: 'tech password 12', name: 'Field tech' },
    ];
    assert.deepEqual(await accounts.seed(seed), ['tech']);
    assert.deepEqual(await accounts.seed(seed), []);
    assert.ok((await accounts.login('root', 'root password 123')).ok, 'an existing user keeps its password');
    await assert.rejects(accounts.updateUser('root', { role: 'viewer' }), LastAdminError);
  });

  test('issue 6: logins answer as slowly for an unknown user as for a wrong password (no user enumeration by timing)', async () => {
    const time = async (username: string) => {
      const start = performance.now();
      await accounts.login(username, 'some wrong password');
      return performance.now() - start;
    };
    await time('nobody'); // warm the decoy hash
    const unknown = Math.min(await time('nobody'), await time('nobody2'));
    const wrong = Math.min(await time('ana'), await time('root'));
    // Both run one scrypt; without the decoy an unknown user would answer in well under a millisecond.
    assert.ok(unknown > wrong / 3, `unknown user ${unknown.toFixed(1)} ms vs wrong password ${wrong.toFixed(1)} ms`);
  });
});
