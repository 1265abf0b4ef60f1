/** The built dashboard served at / with client routes falling back to index.html, never over the API. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Fastify from 'fastify';
import { installErrorHandlers } from '../../src/http/errors.js';
import { dashboardRoutes } from '../../src/http/routes/dashboard.js';

const dir = mkdtempSync(join(tmpdir(), 'quanlink-dashboard-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function appServing(root: string) {
  const app = Fastify();
  installErrorHandlers(app);
  app.get('/api/v1/health', async () => ({ ok: true }));
  app.get('/openapi.json', async () => ({ openapi: '3.0.3' }));
  await dashboardRoutes(app, root);
  return app;
}

test('issue 7: index.html at / and at client routes, assets by path, 404 JSON for unknown API paths and missing files', async () => {
  const dist = join(dir, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!doctype html><div id="app"></div>');
  writeFileSync(join(dist, 'assets', 'index-abc.js'), 'console.log(1)');
  const app = await appServing(dist);
  try {
    for (const url of ['/', '/map', '/screens', '/gateways/gw-1/devices/loop-1?x=1']) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 200, url);
      assert.match(res.headers['content-type'] as string, /text\/html/, url);
      assert.match(res.body, /id="app"/, url);
      assert.equal(res.headers['cache-control'], 'no-cache', `${url}: the page is revalidated`);
    }
    const asset = await app.inject({ url: '/assets/index-abc.js' });
    assert.equal(asset.statusCode, 200);
    assert.match(asset.headers['cache-control'] as string, /immutable/);
    for (const url of ['/api/v1/nothing', '/api', '/docs/nothing', '/assets/gone.js', '/favicon.ico']) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json().error.code, 'NotFound', url);
    }
    assert.deepEqual((await app.inject({ url: '/api/v1/health' })).json(), { ok: true });
    assert.deepEqual((await app.inject({ url: '/openapi.json' })).json(), { openapi: '3.0.3' });
    assert.equal((await app.inject({ method: 'POST', url: '/map' })).statusCode, 404, 'only GET gets the page');
  } finally {
    await app.close();
  }
});

test('issue 7: without a dashboard build the cloud runs as before (no page at /)', async () => {
  const app = await appServing(join(dir, 'not-built'));
  try {
    const res = await app.inject({ url: '/' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, 'NotFound');
    assert.deepEqual((await app.inject({ url: '/api/v1/health' })).json(), { ok: true });
  } finally {
    await app.close();
  }
});
