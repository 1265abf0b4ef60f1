/**
 * The dashboard in a real browser against a real system (cloud, gateway, simulators as processes):
 * sign-in, the map, a detector's chart, composing and dispatching a message that the screen
 * simulator then shows, cameras, the audit trail, roles and languages. Each test leaves a
 * screenshot in dashboard/artifacts/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { waitUntil } from '@quanlink/e2e';
import { ensureBuilt, launchBrowser, openPage, screenshot, signIn } from './browser.js';
import { GATEWAY, USERS, startDashboardSystem, type DashboardSystem } from './system.js';

// Functions given to the page run in the browser; the tests are type-checked without the DOM
// library, so they reach the page's document as (globalThis as any).document.

describe('dashboard in the browser', () => {
  let system: DashboardSystem;
  let browser: Browser;
  const pages: { page: Page; errors: string[] }[] = [];
  const open = async (lang: 'zh' | 'en' = 'zh') => {
    const opened = await openPage(browser, lang);
    pages.push(opened);
    return opened;
  };

  before(async () => {
    ensureBuilt();
    [system, browser] = await Promise.all([startDashboardSystem(), launchBrowser()]);
  });

  after(async () => {
    await browser?.close();
    await system?.stop();
    for (const { errors } of pages) assert.deepEqual(errors, [], 'no script errors in the page');
  });

  it('issue 7: the cloud serves the dashboard at / and its client routes, never over /api, /docs or /openapi.json', async () => {
    for (const path of ['/', '/map', '/screens', '/gateways/x/devices/y']) {
      const res = await fetch(system.baseUrl + path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/, path);
      assert.match(await res.text(), /<div id="app">/, path);
    }
    const api = await fetch(`${system.baseUrl}/api/v1/no-such-route`);
    assert.equal(api.status, 404);
    assert.equal(((await api.json()) as { error: { code: string } }).error.code, 'NotFound');
    const missingAsset = await fetch(`${system.baseUrl}/assets/missing-0000.js`);
    assert.equal(missingAsset.status, 404, 'a missing file is not answered with index.html');
    const openapi = await fetch(`${system.baseUrl}/openapi.json`);
    assert.equal(openapi.status, 200);
    assert.ok(((await openapi.json()) as { paths: Record<string, unknown> }).paths['/api/v1/screens'], 'the OpenAPI document is still the API');
    const docs = await fetch(`${system.baseUrl}/docs`);
    assert.doesNotMatch(await docs.text(), /<div id="app">/, '/docs is the API documentation');
  });

  it('issue 7: sign in (a wrong password is refused), then the map shows the gateway, its devices and the graded segment', async () => {
    const { page } = await open();
    await page.goto(`${system.baseUrl}/map`);
    await page.fill('input[name=username]', USERS.controller.username);
    await page.fill('input[name=password]', 'not-the-password');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => ((globalThis as any).document.querySelector('[data-testid=signin-error]')?.textContent ?? '') !== '');
    assert.match(await page.textContent('[data-testid=signin-error]') ?? '', /用户名或密码错误/);
    // Guessing is limited by the cloud (5 failures per username): the page says to wait.
    for (let attempt = 1; attempt <= 6; attempt++) {
      await page.fill('input[name=username]', 'nobody-here');
      await page.fill('input[name=password]', `guess-number-${attempt}`);
      await page.evaluate(() => { (globalThis as any).document.querySelector('[data-testid=signin-error]').textContent = ''; });
      await page.click('button[type=submit]');
      await page.waitForFunction(() => ((globalThis as any).document.querySelector('[data-testid=signin-error]')?.textContent ?? '') !== '');
    }
    assert.match(await page.textContent('[data-testid=signin-error]') ?? '', /尝试次数过多/);

    await signIn(page, system.baseUrl, USERS.controller.username, USERS.controller.password);
    assert.match(await page.textContent('[data-testid=user]') ?? '', /李调度 · 调度员/);
    for (const device of ['loop-1', 'loop-2', 'ramp-1', 'ramp-2', ...(system.camera ? ['cam-1'] : [])]) {
      await page.waitForSelector(`svg.map [data-device="${GATEWAY}/${device}"][data-state="ok"]`, { timeout: 60_000 });
    }
    await page.waitForSelector(`svg.map [data-gateway="${GATEWAY}"]`);
    // Drawn from coordinates: ramp-1 stands west of the site, ramp-2 east; the grid cell around them.
    await page.waitForSelector('svg.map [data-grid-cell="dash-cell"]');
    const west = await page.locator(`svg.map [data-device="${GATEWAY}/ramp-1"]`).boundingBox();
    const site = await page.locator(`svg.map [data-gateway="${GATEWAY}"]`).boundingBox();
    const east = await page.locator(`svg.map [data-device="${GATEWAY}/ramp-2"]`).boundingBox();
    assert.ok(west && site && east && west.x < site.x && site.x < east.x, `west ${JSON.stringify(west)} < site ${JSON.stringify(site)} < east ${JSON.stringify(east)}`);
    // The segment is drawn once its first period is graded, in the colour of its grade.
    const grade = await page.waitForSelector('svg.map [data-segment="dash-arterial"][data-grade]:not([data-grade=""])', { timeout: 60_000 });
    const code = Number(await grade.getAttribute('data-grade'));
    const api = await system.cloud.api<{ segments: { id: string; state: { grade: { code: number } } | null }[] }>('/api/v1/segments');
    assert.ok(code >= 1 && code <= 5, `grade ${code}`);
    assert.ok(api.segments.some((s) => s.id === 'dash-arterial' && s.state !== null), 'the cloud has graded the segment too');
    await page.waitForSelector('[data-testid=live-status].connected');
    await screenshot(page, '01-map');
  });

  it("issue 7: a detector's chart of its sample periods, opened from detector health", async () => {
    const { page } = await open();
    await signIn(page, system.baseUrl, USERS.controller.username, USERS.controller.password);
    await page.click('a[data-nav="/detectors"]');
    await page.click(`[data-chart="${GATEWAY}/loop-1"]`);
    await page.waitForURL(`**/gateways/${GATEWAY}/devices/loop-1`);
    // Two 10 s periods make a line; the page refreshes every 10 s.
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('[data-testid=device-chart] svg.chart polyline[data-series]').length > 0 && Number((globalThis as any).document.querySelector('[data-testid=device-chart] svg.chart')?.getAttribute('data-points')) >= 16, null, { timeout: 60_000 });
    const periods = await system.cloud.api<{ periods: unknown[] }>(`/api/v1/gateways/${GATEWAY}/devices/loop-1/periods?limit=960`);
    const drawn = Number(await page.getAttribute('[data-testid=device-chart] svg.chart', 'data-points'));
    assert.ok(drawn > 0 && drawn <= periods.periods.length + 16, `drew ${drawn} points of ${periods.periods.length} periods`);
    assert.match(await page.textContent('[data-testid=device-state]') ?? '', /ok/);
    // Its binding as the gateway reports its configuration.
    await page.waitForSelector('[data-testid=device-binding] pre:has-text("quanlink-lc8")', { timeout: 30_000 });
    await page.selectOption('select[name=metric]', 'occupancy');
    await page.waitForSelector('[data-testid=device-chart] svg.chart text.axis >> text=占有率');
    await screenshot(page, '02-detector-chart');
  });

  it('issue 7: compose in MULTI with a live preview, dispatch to a screen, follow its status live, and the simulator shows it', async () => {
    const { page } = await open();
    await signIn(page, system.baseUrl, USERS.controller.username, USERS.controller.password);
    await page.click('a[data-nav="/screens"]');
    await page.waitForSelector(`[data-testid=targets] input[name=screen][value="${GATEWAY}/ramp-1"]`);

    // No target: refused in the page, nothing sent.
    await page.click('[data-testid=dispatch]');
    assert.match(await page.textContent('[data-testid=dispatch-result]') ?? '', /请至少选择一个发布对象/);

    // Content that does not fit the sign: the preview names the problem.
    await page.fill('textarea[name=multi]', '[jl3]这一行文字太长了放不下的[nl]请绕行');
    await page.waitForSelector('[data-testid=preview] .problems');

    const text = '[jl3]事故[nl]减速慢行';
    await page.fill('textarea[name=multi]', text);
    // The target is picked on the map: a click on the screen ticks its box.
    await page.click(`[data-testid=target-map] [data-device="${GATEWAY}/ramp-1"]`);
    assert.equal(await page.isChecked(`[data-testid=targets] input[name=screen][value="${GATEWAY}/ramp-1"]`), true);
    await page.waitForSelector(`[data-testid=target-map] [data-device="${GATEWAY}/ramp-1"][data-picked]`);
    const preview = await page.waitForSelector('[data-testid=preview] [data-profile="quanlink-vms-r1"] img[data-page="1"]');
    const previewSize = await preview.evaluate((img: any) => ({ w: (img as any).naturalWidth, h: (img as any).naturalHeight }));
    assert.deepEqual(previewSize, { w: 128 * 3, h: 32 * 3 }, 'the ramp sign (128x32) drawn at scale 3');
    assert.equal(await page.$('[data-testid=preview] .problems'), null, 'the message fits');

    await page.fill('input[name=priority]', '150');
    await page.fill('input[name=duration]', '10');
    await page.click('[data-testid=dispatch]');
    await page.waitForSelector('[data-testid=dispatch-result][data-crc]');
    const crc = Number(await page.getAttribute('[data-testid=dispatch-result]', 'data-crc'));
    const messageId = await page.getAttribute('[data-testid=dispatch-result]', 'data-message');
    // The status row moves to displayed on the WebSocket, without a reload.
    await page.waitForSelector(`[data-testid=dispatch-status] tr[data-screen="${GATEWAY}/ramp-1"][data-state="displayed"]`, { timeout: 45_000 });
    const shown = await waitUntil('ramp-1 simulator shows the message', async () => ((await (await fetch(`${system.signControl['ramp-1']}/state`)).json()) as { shown: { multi: string; crc: number } | null }).shown, (s) => s?.crc === crc);
    assert.equal(shown!.multi, text);
    const other = ((await (await fetch(`${system.signControl['ramp-2']}/state`)).json()) as { shown: { crc: number } | null }).shown;
    assert.notEqual(other?.crc, crc, 'ramp-2 was not a target');
    const dispatches = await system.cloud.api<{ dispatches: { state: string; readbackCrc: number | null }[] }>(`/api/v1/dispatches?message=${messageId}`);
    assert.deepEqual(dispatches.dispatches.map((d) => [d.state, d.readbackCrc]), [['displayed', crc]]);
    // The screens list shows it with the cloud's image of the page as the sign shows it.
    await page.waitForSelector(`[data-testid=screens] tr[data-screen="${GATEWAY}/ramp-1"][data-crc="${crc}"] img.shown[data-loaded]`, { timeout: 20_000 });
    await screenshot(page, '03-dispatch');
  });

  it('issue 7: the form composes pages, dispatched to a group; the audit trail names the controller', async () => {
    const { page } = await open('en');
    await signIn(page, system.baseUrl, USERS.controller.username, USERS.controller.password);
    await page.click('a[data-nav="/screens"]');
    await page.check('input[name=mode][value=form]');
    await page.fill('textarea[name=form]', 'ROAD WORK\nKEEP LEFT\n\nSLOW');
    await page.check('[data-testid=targets] input[name=group][value="dash-signs"]');
    await page.waitForSelector('[data-testid=preview] [data-profile="quanlink-vms-r1"] img[data-page="2"]');
    await page.click('[data-testid=dispatch]');
    await page.waitForSelector('[data-testid=dispatch-result][data-crc]');
    const messageId = await page.getAttribute('[data-testid=dispatch-result]', 'data-message');
    const { message, dispatches } = await system.cloud.api<{ message: { multi: string }; dispatches: { deviceId: string }[] }>(`/api/v1/messages/${messageId}`);
    assert.equal(message.multi, 'ROAD WORK[nl]KEEP LEFT[np]SLOW');
    assert.deepEqual(dispatches.map((d) => d.deviceId).sort(), ['ramp-1', 'ramp-2'], 'the group reaches both screens');
    for (const id of ['ramp-1', 'ramp-2']) {
      await page.waitForSelector(`[data-testid=dispatch-status] tr[data-screen="${GATEWAY}/${id}"]`);
    }
    await page.waitForSelector('[data-testid=guidance] tr[data-rule="dash-jam"]:has-text("needs approval")');
    await page.click('a[data-nav="/audit"]');
    const row = await page.waitForSelector(`[data-testid=audit] tr:has-text("${messageId}")`);
    assert.match(await row.textContent() ?? '', new RegExp(`${USERS.controller.username}.*message\\.create`));
    await screenshot(page, '04-audit');
  });

  it('issue 7: cameras show the latest video events with snapshot thumbnails and boxes', async (t) => {
    if (!system.camera) return t.skip(system.cameraSkip);
    const { page } = await open();
    await signIn(page, system.baseUrl, USERS.controller.username, USERS.controller.password);
    await page.click('a[data-nav="/cameras"]');
    await page.waitForSelector(`[data-testid=cameras] tr[data-device="${GATEWAY}/cam-1"]`);
    const thumb = await page.waitForSelector('[data-testid=video-events] figure.thumb:has(img[data-loaded]):has(svg.box-overlay rect)', { timeout: 90_000 });
    const size = await thumb.$eval('img', (img: any) => (img as any).naturalWidth);
    assert.ok(size > 0, 'the thumbnail decoded');
    await thumb.click();
    const snapshot = await page.waitForSelector('[data-testid=snapshot][data-loaded]', { timeout: 30_000 });
    assert.ok(await snapshot.evaluate((img: any) => (img as any).naturalWidth > 0), 'the full snapshot came from the gateway through the cloud');
    await screenshot(page, '05-cameras');
  });

  it('issue 7: a viewer reads but cannot dispatch; English and Chinese; gateways, events and a bootstrap-token sign-in', async () => {
    const { page } = await open('en');
    await signIn(page, system.baseUrl, USERS.viewer.username, USERS.viewer.password);
    assert.match(await page.textContent('[data-testid=user]') ?? '', /Wang Viewer · viewer/);
    assert.equal(await page.textContent('a[data-nav="/map"]'), 'Map');
    await page.click('a[data-nav="/screens"]');
    await page.waitForSelector('[data-testid=read-only]');
    assert.equal(await page.isDisabled('[data-testid=dispatch]'), true, 'the viewer has no dispatch');
    assert.equal(await page.isDisabled(`[data-testid=targets] input[name=screen][value="${GATEWAY}/ramp-1"]`), true, 'nor targets');
    assert.equal(await page.$('[data-testid=messages] button.danger'), null, 'no cancel for a viewer');
    await page.click('[data-testid=lang]');
    assert.equal(await page.textContent('a[data-nav="/map"]'), '一张图');
    await page.click('a[data-nav="/gateways"]');
    await page.waitForSelector(`[data-testid=gateways] tr[data-gateway="${GATEWAY}"]:has-text("在线")`);
    await page.click('a[data-nav="/events"]');
    await page.waitForSelector('[data-testid=stored-events] td:has-text("counts")');
    // The live push: a message someone else sends shows up in the feed as it happens.
    await page.waitForSelector('[data-testid=live-status].connected');
    await system.cloud.api('/api/v1/messages', { method: 'POST', body: JSON.stringify({ multi: 'LIVE', targets: { screens: [`${GATEWAY}/ramp-2`] }, priority: 5 }) });
    await page.waitForSelector('[data-testid=live-feed] li[data-type=message]:has-text("LIVE")', { timeout: 30_000 });
    await page.waitForSelector(`[data-testid=live-feed] li[data-type=dispatch]:has-text("${GATEWAY}/ramp-2")`, { timeout: 30_000 });
    assert.equal(await page.locator('[data-testid=live-feed] li[data-type=message]:has-text("LIVE")').count(), 1, 'one socket however many pages were drawn: each event once');
    await screenshot(page, '06-viewer-events');
    await page.click('[data-testid=signout]');
    await page.waitForSelector('input[name=username]');

    // The bootstrap admin token signs in as admin (GET /auth/me), for a cloud without user accounts yet.
    await page.click('[data-testid=token-mode]');
    await page.fill('input[name=token]', 'wrong-token');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => ((globalThis as any).document.querySelector('[data-testid=signin-error]')?.textContent ?? '') !== '');
    await page.fill('input[name=token]', system.cloud.adminToken);
    await page.click('button[type=submit]');
    await page.waitForSelector('svg.map');
    assert.match(await page.textContent('[data-testid=user]') ?? '', /admin/);
  });
});
