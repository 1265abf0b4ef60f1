/**
 * The role matrix (issue 6): every route of the OpenAPI document, for every role, against
 * role-matrix.ts. Without a token: 401. A denied role: 403 naming the user, its role and the roles
 * needed, and nothing changes. An allowed role: past the role check (any status but 401, 403 and 5xx).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCloud, type RunningCloud } from '../../src/cloud.js';
import { ROLES, type Role } from '../../src/http/access.js';
import { captureLogger } from '../helpers.js';
import { OTHER_USER, ROLE_MATRIX, type MatrixEntry } from './role-matrix.js';

const ADMIN_TOKEN = 'roles-test-admin-token-0123456789';
const PASSWORD = 'matrix password 1';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

interface Route {
  key: string;
  method: string;
  entry: MatrixEntry | undefined;
}

describe('issue 6: role matrix over every route of the OpenAPI document', () => {
  let cloud: RunningCloud;
  let routes: Route[] = [];
  const tokens = {} as Record<Role, string>;
  const usernameOf = (role: Role) => `matrix-${role}`;

  const call = async (method: string, path: string, token: string | null, body?: unknown) => {
    const headers: Record<string, string> = {};
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const hasBody = body !== undefined || ['POST', 'PUT', 'PATCH'].includes(method);
    if (hasBody) headers['content-type'] = 'application/json';
    const response = await fetch(`${cloud.httpUrl}${path}`, { method, headers, ...(hasBody && { body: JSON.stringify(body ?? {}) }) });
    const text = await response.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* an image or text */
    }
    return { status: response.status, body: parsed };
  };
  const pathOf = (route: Route) => route.entry?.path ?? route.key.slice(route.method.length + 1).replace(/\{[^}]+\}/g, 'matrix-none');
  const known = () => routes.filter((r): r is Route & { entry: MatrixEntry } => r.entry !== undefined);

  /** Every listing an admin can read (GET without path parameters), the audit log among them. */
  const snapshot = async () => {
    const state: Record<string, unknown> = {};
    for (const route of known()) {
      if (route.method !== 'GET' || route.key.includes('{') || route.entry.allowed === 'public' || route.key === 'GET /api/v1/auth/me') continue;
      state[route.key] = (await call('GET', pathOf(route), ADMIN_TOKEN)).body;
    }
    return state;
  };
  const auditCount = async () => (await call('GET', '/api/v1/audit?limit=10000', ADMIN_TOKEN)).body.entries.length as number;

  before(async () => {
    cloud = await startCloud({ adminToken: ADMIN_TOKEN, logger: captureLogger('error').logger });
    for (const role of ROLES) {
      await cloud.accounts.createUser({ username: usernameOf(role), role, password: PASSWORD });
      tokens[role] = (await cloud.accounts.issueApiToken(usernameOf(role), 'role matrix')).token;
    }
    await cloud.accounts.createUser({ username: OTHER_USER, role: 'viewer', password: PASSWORD });
    const doc = (await call('GET', '/openapi.json', null)).body as { paths: Record<string, Record<string, unknown>> };
    routes = Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.keys(operations)
        .filter((method) => METHODS.includes(method))
        .map((method) => {
          const key = `${method.toUpperCase()} ${path}`;
          return { key, method: method.toUpperCase(), entry: ROLE_MATRIX[key] };
        }),
    );
  });
  after(() => cloud?.close());

  test('issue 6: every route in the OpenAPI document has an entry in the role matrix, and every entry a route', () => {
    assert.ok(routes.length >= 60, `only ${routes.length} routes in the OpenAPI document`);
    const missing = routes.filter((r) => r.entry === undefined).map((r) => `route ${r.key} has no entry in the role matrix (cloud/test/http/role-matrix.ts)`);
    assert.deepEqual(missing, []);
    const documented = new Set(routes.map((r) => r.key));
    const stale = Object.keys(ROLE_MATRIX).filter((key) => !documented.has(key)).map((key) => `role matrix entry '${key}' matches no route of the OpenAPI document`);
    assert.deepEqual(stale, []);
  });

  test('issue 6: without a token, or with an unknown one, every non-public route answers 401 with WWW-Authenticate', async (t) => {
    for (const route of known()) {
      if (route.entry.allowed === 'public') continue;
      await t.test(route.key, async () => {
        for (const token of [null, 'qlk_api_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'not-a-token']) {
          const reply = await call(route.method, pathOf(route), token, route.entry.body);
          assert.equal(reply.status, 401, `${route.key} with token ${token}: ${JSON.stringify(reply.body)}`);
          assert.equal(reply.body.error.code, 'Unauthorized');
        }
        if (route.method === 'GET') assert.equal((await call('HEAD', pathOf(route), null)).status, 401, `HEAD of ${route.key}`);
      });
    }
  });

  test('issue 6: a denied role gets 403 naming the user, its role and the roles needed, and nothing changes', async (t) => {
    const before = await snapshot();
    for (const route of known()) {
      const { allowed } = route.entry;
      if (allowed === 'public') continue;
      for (const role of ROLES.filter((r) => !allowed.includes(r))) {
        await t.test(`${route.key} as ${role}`, async () => {
          const audited = await auditCount();
          const reply = await call(route.method, pathOf(route), tokens[role], route.entry.body);
          assert.equal(reply.status, 403, `${route.key} as ${role}: ${JSON.stringify(reply.body)}`);
          assert.equal(reply.body.error.code, 'Forbidden');
          const message = reply.body.error.message as string;
          assert.ok(message.includes(`user '${usernameOf(role)}' has role '${role}'`), message);
          for (const needed of allowed) assert.ok(message.includes(needed), `403 message names role ${needed}: ${message}`);
          assert.equal(await auditCount(), audited, 'a refused request is not audited as a change');
        });
      }
    }
    assert.deepEqual(await snapshot(), before, 'no listing changed after all the refused requests');
  });

  test('issue 6: an allowed role passes the role check; public routes need no token', async (t) => {
    for (const route of known()) {
      const { allowed } = route.entry;
      const callers: [string, string | null][] = allowed === 'public' ? [['nobody', null]] : allowed.map((role) => [role, tokens[role]]);
      for (const [who, token] of callers) {
        await t.test(`${route.key} as ${who}`, async () => {
          const reply = await call(route.method, pathOf(route), token, route.entry.body);
          assert.ok(![401, 403].includes(reply.status) && reply.status < 500, `${route.key} as ${who}: ${reply.status} ${JSON.stringify(reply.body)}`);
        });
      }
    }
  });
});
