/**
 * The UserStore conformance suite (store.users): users and their roles, the last-admin rule,
 * API tokens and sessions. Every CloudStore implementation runs it (test/store/<impl>/users-store.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DuplicateUserError, LastAdminError, UnknownUserError, type NewToken, type NewUser } from '../../src/auth/types.js';
import type { CloudStore } from '../../src/store/types.js';
import type { StoreFactory } from './conformance.js';

const HASH = '$scrypt$ln=14,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
const OTHER_HASH = '$scrypt$ln=14,r=8,p=1$b3RoZXJzYWx0b3RoZXJzYQ$b3RoZXJoYXNob3RoZXJoYXNob3RoZXJoYXNob3RoZXI';
const T0 = 1_760_000_000_000;

const user = (username: string, extra: Partial<NewUser> = {}): NewUser => ({ username, role: 'viewer', passwordHash: HASH, createdAt: T0, ...extra });
const token = (id: string, username: string, extra: Partial<NewToken> = {}): NewToken => ({
  id,
  username,
  kind: 'api',
  name: `token ${id}`,
  secretHash: `hash-of-${id}`,
  createdAt: T0,
  expiresAt: null,
  ...extra,
});

export function usersConformance(name: string, factory: StoreFactory): void {
  function withStore(title: string, body: (store: CloudStore) => Promise<void>): void {
    test(title, async () => {
      const store = await factory();
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });
  }

  describe(`UserStore conformance: ${name}`, () => {
    withStore('issue 6: a user is stored with its role, name and password hash; the record never carries the hash', async (store) => {
      const created = await store.users.createUser(user('ana', { name: 'Ana Li', role: 'controller' }));
      assert.deepEqual(created, { username: 'ana', name: 'Ana Li', role: 'controller', disabled: false, createdAt: T0, updatedAt: T0 });
      assert.deepEqual(await store.users.getUser('ana'), created);
      assert.equal(await store.users.passwordHash('ana'), HASH);
      assert.ok(!JSON.stringify(await store.users.listUsers()).includes('scrypt'));
      assert.equal(await store.users.getUser('nobody'), undefined);
      assert.equal(await store.users.passwordHash('nobody'), undefined);
    });

    withStore('issue 6: usernames are unique; users are listed by username', async (store) => {
      await store.users.createUser(user('zoe'));
      await store.users.createUser(user('bob', { role: 'technician' }));
      await assert.rejects(store.users.createUser(user('zoe', { role: 'admin' })), (err: unknown) => err instanceof DuplicateUserError && /user 'zoe' already exists/.test(err.message));
      assert.deepEqual((await store.users.listUsers()).map((u) => [u.username, u.role]), [['bob', 'technician'], ['zoe', 'viewer']]);
    });

    withStore('issue 6: an update changes only the fields given; a password change replaces the hash', async (store) => {
      await store.users.createUser(user('ana', { name: 'Ana' }));
      const renamed = await store.users.updateUser('ana', { role: 'technician', updatedAt: T0 + 5 });
      assert.deepEqual([renamed.name, renamed.role, renamed.disabled, renamed.updatedAt], ['Ana', 'technician', false, T0 + 5]);
      assert.equal(await store.users.passwordHash('ana'), HASH);
      await store.users.updateUser('ana', { name: null, disabled: true, passwordHash: OTHER_HASH, updatedAt: T0 + 6 });
      const after = await store.users.getUser('ana');
      assert.deepEqual([after?.name, after?.disabled, after?.role], [null, true, 'technician']);
      assert.equal(await store.users.passwordHash('ana'), OTHER_HASH);
      await assert.rejects(store.users.updateUser('ghost', { role: 'admin', updatedAt: T0 }), UnknownUserError);
    });

    withStore('issue 6: the last enabled admin cannot be deleted, demoted or disabled; with two admins one can go', async (store) => {
      await store.users.createUser(user('root', { role: 'admin' }));
      await store.users.createUser(user('ops', { role: 'viewer' }));
      await assert.rejects(store.users.deleteUser('root'), (err: unknown) => err instanceof LastAdminError && /last enabled admin/.test(err.message));
      await assert.rejects(store.users.updateUser('root', { role: 'viewer', updatedAt: T0 }), LastAdminError);
      await assert.rejects(store.users.updateUser('root', { disabled: true, updatedAt: T0 }), LastAdminError);
      assert.equal((await store.users.getUser('root'))?.role, 'admin', 'nothing changed');
      // A disabled admin does not count as the other admin.
      await store.users.createUser(user('sleeper', { role: 'admin', disabled: true }));
      await assert.rejects(store.users.deleteUser('root'), LastAdminError);
      await store.users.updateUser('ops', { role: 'admin', updatedAt: T0 });
      await store.users.deleteUser('root');
      assert.equal(await store.users.getUser('root'), undefined);
      await assert.rejects(store.users.deleteUser('root'), UnknownUserError);
      // Non-admins go freely.
      await store.users.createUser(user('temp'));
      await store.users.deleteUser('temp');
    });

    withStore('issue 6: tokens: created for an existing user, found by id with their hash, listed per kind newest first', async (store) => {
      await store.users.createUser(user('ana'));
      await assert.rejects(store.users.createToken(token('0000000000000001', 'ghost')), UnknownUserError);
      const first = await store.users.createToken(token('0000000000000001', 'ana', { expiresAt: T0 + 1000 }));
      assert.deepEqual(first, {
        id: '0000000000000001',
        username: 'ana',
        kind: 'api',
        name: 'token 0000000000000001',
        createdAt: T0,
        expiresAt: T0 + 1000,
        lastUsedAt: null,
        revokedAt: null,
      });
      await store.users.createToken(token('0000000000000002', 'ana', { createdAt: T0 + 1 }));
      await store.users.createToken(token('0000000000000003', 'ana', { kind: 'session', name: null, createdAt: T0 + 2 }));
      assert.deepEqual((await store.users.listTokens('ana', 'api')).map((t) => t.id), ['0000000000000002', '0000000000000001']);
      assert.deepEqual((await store.users.listTokens('ana', 'session')).map((t) => t.id), ['0000000000000003']);
      const forAuth = await store.users.tokenForAuth('0000000000000002');
      assert.equal(forAuth?.secretHash, 'hash-of-0000000000000002');
      assert.equal(forAuth?.token.username, 'ana');
      assert.equal(await store.users.tokenForAuth('ffffffffffffffff'), undefined);
      assert.ok(!JSON.stringify(await store.users.listTokens('ana', 'api')).includes('hash-of'), 'listings never carry the hash');
    });

    withStore('issue 6: revocation keeps the first time; revoking a user\'s sessions leaves its API tokens; touch records use', async (store) => {
      await store.users.createUser(user('ana'));
      await store.users.createToken(token('00000000000000a1', 'ana'));
      await store.users.createToken(token('00000000000000s1', 'ana', { kind: 'session', expiresAt: T0 + 100 }));
      await store.users.createToken(token('00000000000000s2', 'ana', { kind: 'session', expiresAt: T0 + 100 }));
      assert.equal((await store.users.revokeToken('00000000000000a1', T0 + 10))?.revokedAt, T0 + 10);
      assert.equal((await store.users.revokeToken('00000000000000a1', T0 + 20))?.revokedAt, T0 + 10);
      assert.equal(await store.users.revokeToken('ffffffffffffffff', T0), undefined);
      assert.equal(await store.users.revokeUserTokens('ana', 'session', T0 + 30), 2);
      assert.equal(await store.users.revokeUserTokens('ana', 'session', T0 + 40), 0, 'already revoked');
      await store.users.touchToken('00000000000000a1', T0 + 50);
      assert.equal((await store.users.getToken('00000000000000a1'))?.lastUsedAt, T0 + 50);
    });

    withStore('issue 6: pruning removes old ended sessions only; deleting a user removes its tokens', async (store) => {
      await store.users.createUser(user('ana', { role: 'admin' }));
      await store.users.createUser(user('bob'));
      await store.users.createToken(token('0000000000000e01', 'ana', { kind: 'session', expiresAt: T0 + 10 }));
      await store.users.createToken(token('0000000000000e02', 'ana', { kind: 'session', expiresAt: T0 + 10_000 }));
      await store.users.createToken(token('0000000000000e03', 'ana', { kind: 'api', expiresAt: T0 + 10 }));
      await store.users.createToken(token('0000000000000b01', 'bob'));
      assert.equal(await store.users.pruneSessions(T0 + 100), 1);
      assert.equal(await store.users.getToken('0000000000000e01'), undefined);
      assert.ok(await store.users.getToken('0000000000000e02'));
      assert.ok(await store.users.getToken('0000000000000e03'), 'expired API tokens stay listed');
      await store.users.deleteUser('bob');
      assert.equal(await store.users.getToken('0000000000000b01'), undefined);
    });
  });
}
