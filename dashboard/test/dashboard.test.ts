/**
 * The dashboard in a real browser against a real system (cloud, gateway, simulators as processes):
 * sign-in, the map, a detector's chart, composing and dispatching a message that the screen
 * simulator then shows, cameras, the audit trail, roles and languages. Each test leaves a
 * screenshot in dashboard/artifacts/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { loopCardBinding, waitUntil } from '@quanlink/e2e';
import mqtt from 'mqtt';
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
  // ---- provisioning (issue 6): these run last, since they change the gateway's configuration ----

  /** The element's text ('' when it has none). */
  const textOf = async (page: Page, selector: string) => (await page.textContent(selector)) ?? '';

  it('issue 6: an admin creates a site, issues an enrolment token shown once as a command line that enrols, and creates a viewer', async () => {
    const { page } = await open('en');
    await signIn(page, system.baseUrl, USERS.admin.username, USERS.admin.password);
    for (const nav of ['/sites', '/enrolment', '/updates', '/users']) await page.waitForSelector(`a[data-nav="${nav}"]`);

    // A site in the test's grid cell; a half-given location is refused on the page, naming the field.
    await page.click('a[data-nav="/sites"]');
    await page.waitForSelector('[data-testid=grid-cells] tr[data-grid-cell="dash-cell"]');
    // A grid cell: a box upside down is refused on the page, a right one is stored.
    await page.fill('input[name=cell-id]', 'prov-cell');
    await page.fill('input[name=cell-name]', '七号网格');
    await page.fill('input[name=cell-bbox]', '120.18, 30.25, 120.17, 30.27');
    await page.click('[data-testid=grid-cell-form] button[type=submit]');
    await page.waitForSelector('[data-testid=sites-message].error:has-text("minimum must be below")');
    await page.fill('input[name=cell-bbox]', '120.17, 30.25, 120.18, 30.27');
    await page.click('[data-testid=grid-cell-form] button[type=submit]');
    await page.waitForSelector('[data-testid=grid-cells] tr[data-grid-cell="prov-cell"]');
    assert.deepEqual((await system.cloud.api<{ bbox: number[] }>('/api/v1/grid-cells/prov-cell')).bbox, [120.17, 30.25, 120.18, 30.27]);
    await page.fill('input[name=site-id]', 'prov-site');
    await page.fill('input[name=site-name]', 'Provisioning junction');
    await page.fill('input[name=site-lat]', '30.265');
    await page.selectOption('select[name=site-grid-cell]', 'dash-cell');
    await page.click('[data-testid=site-save]');
    await page.waitForSelector('[data-testid=sites-message].error');
    assert.match(await textOf(page, '[data-testid=sites-message]'), /Longitude: give both latitude and longitude/);
    await page.fill('input[name=site-lon]', '120.165');
    await page.click('[data-testid=site-save]');
    await page.waitForSelector('[data-testid=sites] tr[data-site="prov-site"]');
    const site = await system.cloud.api<{ name: string; location: { lat: number; lon: number }; gridCellId: string }>('/api/v1/sites/prov-site');
    assert.deepEqual([site.name, site.location, site.gridCellId], ['Provisioning junction', { lat: 30.265, lon: 120.165 }, 'dash-cell']);

    // A token for the site: shown once with the command; the command's token really enrols a gateway.
    await page.click('a[data-nav="/enrolment"]');
    await page.waitForSelector('select[name=token-site] option[value="prov-site"]', { state: 'attached' });
    await page.selectOption('select[name=token-site]', 'prov-site');
    await page.fill('input[name=token-hours]', '2');
    await page.click('[data-testid=issue-token]');
    const command = await textOf(page, '[data-testid=enrol-command]');
    const match = new RegExp(`^quanlink-edge enrol --cloud ${system.baseUrl.replace(/[.]/g, '\\.')} --token (qle_\\S+) --config /etc/quanlink/edge\\.json$`).exec(command);
    assert.ok(match, `the command line: ${command}`);
    const tokenId = await page.getAttribute('[data-testid=issued-token]', 'data-token-id');
    await page.waitForSelector(`[data-testid=enrolment-tokens] tr[data-token="${tokenId}"][data-state="unused"]`);
    assert.doesNotMatch(await textOf(page, '[data-testid=enrolment-tokens]'), /qle_/, 'the list never shows a token');
    await screenshot(page, '07-enrolment-token');
    const enrolled = await fetch(`${system.baseUrl}/api/v1/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: match[1], gatewayId: 'prov-gw-1' }) });
    assert.equal(enrolled.status, 201, await enrolled.clone().text());
    assert.equal(((await enrolled.json()) as { site: string }).site, 'prov-site');
    // A second token, revoked from the list.
    await page.click('[data-testid=issue-token]');
    await page.waitForFunction((first) => (globalThis as any).document.querySelector('[data-testid=issued-token]')?.getAttribute('data-token-id') !== first, tokenId);
    const secondId = await page.getAttribute('[data-testid=issued-token]', 'data-token-id');
    await page.click(`[data-testid=enrolment-tokens] tr[data-token="${secondId}"] [data-testid=revoke-token]`);
    await page.waitForSelector(`[data-testid=enrolment-tokens] tr[data-token="${secondId}"][data-state="revoked"]`);
    await page.waitForSelector(`[data-testid=enrolment-tokens] tr[data-token="${tokenId}"][data-state="used"]`);

    // The fleet filtered by site and status finds the new gateway, offline, at its site.
    await page.click('a[data-nav="/gateways"]');
    await page.waitForSelector(`[data-testid=gateways] tr[data-gateway="${GATEWAY}"]`);
    await page.selectOption('[data-testid=gateway-filters] select[name=site]', 'prov-site');
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('[data-testid=gateways] tr[data-gateway]').length === 1);
    await page.waitForSelector('[data-testid=gateways] tr[data-gateway="prov-gw-1"][data-status="offline"]:has-text("Provisioning junction")');
    await page.selectOption('[data-testid=gateway-filters] select[name=site]', '');
    await page.selectOption('[data-testid=gateway-filters] select[name=status]', 'online');
    await page.waitForFunction(() => [...(globalThis as any).document.querySelectorAll('[data-testid=gateways] tr[data-gateway]')].map((tr: any) => tr.dataset.gateway).join() === 'dash-gw-1');
    // Telemetry of the real gateway: agent version, uptime, memory, disk.
    const row = await textOf(page, `[data-testid=gateways] tr[data-gateway="${GATEWAY}"]`);
    assert.match(row, /\d+ (MB|KB)/, `memory in ${row}`);
    assert.match(row, /\d+ % \(/, `disk in ${row}`);
    await screenshot(page, '08-fleet');

    // Rotation needs the gateway online (409 said on the page); revocation needs a reason and a confirmation.
    await page.goto(`${system.baseUrl}/gateways/prov-gw-1`);
    await page.click('[data-testid=rotate]');
    await page.waitForSelector('[data-testid=action-result].error');
    assert.match(await textOf(page, '[data-testid=action-result]'), /offline|not connected|online/i);
    assert.equal(await page.isVisible('[data-testid=revoke-confirm]'), false, 'one click does not revoke');
    await page.click('[data-testid=revoke]');
    await page.click('[data-testid=revoke-confirm]');
    await page.waitForSelector('[data-testid=action-result].error:has-text("reason")');
    await page.fill('input[name=revoke-reason]', 'box stolen');
    await page.click('[data-testid=revoke-confirm]');
    await page.waitForSelector('[data-testid=revoked]:has-text("box stolen")');
    const fleet = await system.cloud.api<{ revoked: { by: string; reason: string } }>('/api/v1/gateways/prov-gw-1/fleet');
    assert.deepEqual([fleet.revoked.by, fleet.revoked.reason], [USERS.admin.username, 'box stolen']);

    // A viewer account: the cloud's password policy speaks on the page, then the user is made.
    await page.click('a[data-nav="/users"]');
    await page.waitForSelector(`[data-testid=users] tr[data-user="${USERS.admin.username}"]`);
    await page.fill('input[name=new-username]', 'zhao.viewer');
    await page.fill('input[name=new-password]', 'short');
    await page.selectOption('select[name=new-role]', 'viewer');
    await page.click('[data-testid=create-user]');
    await page.waitForSelector('[data-testid=users-message].error');
    assert.match(await textOf(page, '[data-testid=users-message]'), /password/i);
    assert.match(await textOf(page, '[data-testid=users-message]'), /12/, 'the policy says how long');
    await page.fill('input[name=new-password]', 'zhao-viewer-password');
    await page.click('[data-testid=create-user]');
    await page.waitForSelector('[data-testid=users] tr[data-user="zhao.viewer"][data-role="viewer"]');
    // Its API token: shown once, then revoked.
    await page.click('[data-testid=users] tr[data-user="zhao.viewer"] [data-testid=show-tokens]');
    await page.fill('input[name=token-name]', 'wall display');
    await page.click('[data-testid=token-form] button[type=submit]');
    const apiToken = (await textOf(page, '[data-testid=new-api-token] code')).trim();
    assert.match(apiToken, /^qlk_api_/);
    const me = await fetch(`${system.baseUrl}/api/v1/auth/me`, { headers: { authorization: `Bearer ${apiToken}` } });
    assert.equal(((await me.json()) as { username: string }).username, 'zhao.viewer', 'the shown token is the real one');
    await page.click('[data-testid=tokens] tr[data-active="true"] [data-testid=revoke-api-token]');
    await page.waitForSelector('[data-testid=tokens] tr[data-active="false"]');
    assert.equal((await fetch(`${system.baseUrl}/api/v1/auth/me`, { headers: { authorization: `Bearer ${apiToken}` } })).status, 401, 'revoked at once');
    // Role, disabling and deletion, each checked in the cloud.
    const zhao = '[data-testid=users] tr[data-user="zhao.viewer"]';
    await page.selectOption(`${zhao} select[name=role]`, 'controller');
    await page.waitForSelector(`${zhao}[data-role="controller"]`);
    await page.click(`${zhao} [data-testid=toggle-disabled]`);
    await page.waitForSelector(`${zhao}[data-disabled="true"]`);
    const login = await fetch(`${system.baseUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'zhao.viewer', password: 'zhao-viewer-password' }) });
    assert.equal(login.status, 401, 'a disabled user cannot sign in');
    await page.click(`${zhao} [data-testid=delete-user]`);
    await page.click(`${zhao} [data-testid=delete-confirm]`);
    await page.waitForSelector(zhao, { state: 'detached' });
    const users = await system.cloud.api<{ users: { username: string }[] }>('/api/v1/users');
    assert.equal(users.users.some((u) => u.username === 'zhao.viewer'), false);
    await screenshot(page, '09-users');
  });

  it("issue 6: a technician adds a loop device in the desired configuration and the gateway applies it; a bad one shows the edge's reasons and changes nothing", async () => {
    const technician = { username: 'sun.tech', password: 'technician-pass-1', role: 'technician', name: '孙技术' };
    await system.cloud.api('/api/v1/users', { method: 'POST', body: JSON.stringify(technician) });
    const { page } = await open();
    await signIn(page, system.baseUrl, technician.username, technician.password);
    assert.equal(await page.$('a[data-nav="/users"]'), null, 'users are for admins');
    await page.click('a[data-nav="/gateways"]');
    await page.click(`[data-testid=gateways] tr[data-gateway="${GATEWAY}"] a`);
    await page.waitForSelector('[data-testid=config-in-sync]');
    assert.equal(await page.$('[data-testid=revoke]'), null, 'revocation is for admins');
    await page.waitForSelector('[data-testid=placement-save]');

    // The editor starts from what the gateway reports it runs.
    const editor = 'textarea[name=desired-config]';
    await page.waitForFunction((sel) => ((globalThis as any).document.querySelector(sel)?.value ?? '').includes('"loop-1"'), editor);
    const config = JSON.parse(await page.inputValue(editor)) as { devices: { id: string; transport: { port?: number } }[] };
    assert.deepEqual(config.devices.map((d) => d.id).filter((id) => id.startsWith('loop')), ['loop-1', 'loop-2']);
    config.devices.push(loopCardBinding('loop-3', system.spareCard, 1000, { periodS: 10 }) as never);
    await page.fill(editor, JSON.stringify(config, null, 2));
    await page.click('[data-testid=config-save]');
    await page.waitForSelector('[data-testid=config-in-sync][data-in-sync="true"]', { timeout: 60_000 });
    await page.waitForSelector('[data-testid=config-desired][data-version="1"][data-outcome="applied"]');
    await page.waitForSelector('[data-testid=config-reported][data-version="1"]');
    await page.waitForSelector('[data-testid=gateway-devices] tr[data-device="loop-3"]', { timeout: 30_000 });
    await page.waitForSelector('[data-testid=config-history] tr[data-kind="applied"][data-version="1"]');
    const shadow = await system.cloud.api<{ inSync: boolean; reported: { version: number } }>(`/api/v1/gateways/${GATEWAY}/config`);
    assert.deepEqual([shadow.inSync, shadow.reported.version], [true, 1]);
    await waitUntil('loop-3 reads the spare card', () => system.cloud.device(GATEWAY, 'loop-3'), (d) => d?.state === 'ok', { timeoutMs: 30_000 });
    await screenshot(page, '10-config-applied');

    // Not JSON: said on the page, nothing sent.
    await page.fill(editor, '{"devices": [');
    await page.click('[data-testid=config-save]');
    await page.waitForSelector('[data-testid=config-reasons] li:has-text("not JSON")');
    // Refused by the cloud (a device without a profile): 400 with its reason.
    await page.fill(editor, JSON.stringify({ devices: [{ id: 'loop-9', transport: { kind: 'modbus-tcp' } }] }));
    await page.click('[data-testid=config-save]');
    await page.waitForSelector('[data-testid=config-reasons] li:has-text("profile")');
    // Refused by the gateway: an impossible port; the edge's reasons are shown and v1 keeps running.
    const bad = structuredClone(config);
    bad.devices.find((d) => d.id === 'loop-3')!.transport.port = 70000;
    await page.fill(editor, JSON.stringify(bad, null, 2));
    await page.click('[data-testid=config-save]');
    await page.waitForSelector('[data-testid=config-reasons] li:has-text("port")', { timeout: 60_000 });
    assert.match(await textOf(page, '[data-testid=config-reasons]'), /65535/);
    await page.waitForSelector('[data-testid=config-last-error][data-version="2"]');
    await page.waitForSelector('[data-testid=config-in-sync][data-in-sync="false"]');
    const after = await system.cloud.api<{ reported: { version: number }; lastError: { code: string } }>(`/api/v1/gateways/${GATEWAY}/config`);
    assert.deepEqual([after.reported.version, after.lastError.code], [1, 'InvalidConfig'], 'the gateway still runs version 1');
    assert.equal((await system.cloud.device(GATEWAY, 'loop-3'))?.state, 'ok');
    await screenshot(page, '11-config-refused');

    // A stale base: someone else set the offline gateway's config while this page was editing it.
    await system.cloud.addGateway('prov-gw-2', 'Not yet installed');
    await page.goto(`${system.baseUrl}/gateways/prov-gw-2`);
    await page.waitForSelector('[data-testid=config-save]');
    await page.fill(editor, JSON.stringify({ devices: [] }));
    await system.cloud.api('/api/v1/gateways/prov-gw-2/config', { method: 'PUT', body: JSON.stringify({ config: { devices: [] }, baseVersion: 0 }) });
    await page.click('[data-testid=config-save]');
    await page.waitForSelector('[data-testid=config-problems] p.error:has-text("已被他人修改")');
  });

  it('issue 6: an admin uploads a signed bundle, follows each rollout per gateway and aborts one', async () => {
    const { page } = await open('en');
    await signIn(page, system.baseUrl, USERS.admin.username, USERS.admin.password);
    await page.click('a[data-nav="/updates"]');
    // A file that is not a signed bundle: the cloud's reason on the page, nothing stored.
    await page.setInputFiles('input[name=bundle]', { name: 'forged.qlb', mimeType: 'application/octet-stream', buffer: Buffer.from('not a bundle at all') });
    await page.click('[data-testid=upload-form] button[type=submit]');
    await page.waitForSelector('[data-testid=updates-message].error');
    assert.equal((await system.cloud.api<{ updates: unknown[] }>('/api/v1/updates')).updates.length, 0);
    await page.setInputFiles('input[name=bundle]', system.signBundle('9.1.0'));
    await page.click('[data-testid=upload-form] button[type=submit]');
    const bundleRow = await page.waitForSelector('[data-testid=updates] tr:has-text("9.1.0")');
    const updateId = (await bundleRow.getAttribute('data-update'))!;

    // Started from the page. No gateway chosen: the cloud's reason is shown and nothing starts.
    await page.waitForSelector(`select[name=rollout-gateways] option[value="${GATEWAY}"]`, { state: 'attached' });
    await page.selectOption('select[name=rollout-update]', updateId);
    await page.click('[data-testid=start-rollout]');
    await page.waitForSelector('[data-testid=updates-message].error:has-text("gateways")');
    // A bad threshold: refused by the cloud, naming the field.
    await page.selectOption('select[name=rollout-gateways]', [GATEWAY]);
    await page.fill('input[name=rollout-abort-after]', '250%');
    await page.click('[data-testid=start-rollout]');
    await page.waitForSelector('[data-testid=updates-message].error:has-text("abortAfterFailures")');
    assert.equal((await system.cloud.api<{ rollouts: unknown[] }>('/api/v1/rollouts')).rollouts.length, 0, 'refused rollouts start nothing');
    // The test's gateway runs without a supervisor, so it refuses the update: failed, and the rollout aborts.
    await page.fill('input[name=rollout-max-concurrent]', '1');
    await page.fill('input[name=rollout-abort-after]', '1');
    await page.fill('input[name=rollout-health-timeout]', '120');
    await page.click('[data-testid=start-rollout]');
    await page.waitForSelector('[data-testid=updates-message]:not(.error):has-text("started")');
    const [refused] = (await system.cloud.api<{ rollouts: { id: string; maxConcurrent: number; abortAfterFailures: number; healthTimeoutMs: number }[] }>('/api/v1/rollouts')).rollouts;
    assert.ok(refused);
    assert.deepEqual([refused.maxConcurrent, refused.abortAfterFailures, refused.healthTimeoutMs], [1, 1, 120_000], "the form's values reached the cloud");
    // Followed live: the page opened it and shows the gateway's failure with its reason.
    const followed = await page.waitForSelector(`[data-testid=rollout-targets] tr[data-gateway="${GATEWAY}"][data-state="failed"]`, { timeout: 60_000 });
    assert.match((await followed.textContent()) ?? '', /supervis/i, 'the gateway says why, followed without a reload');
    // A gateway that never connected never answers: that rollout runs until the admin aborts it.
    const waiting = await system.cloud.api<{ id: string }>('/api/v1/rollouts', { method: 'POST', body: JSON.stringify({ updateId, gateways: ['prov-gw-2'], maxConcurrent: 1, healthTimeoutS: 3600 }) });
    await page.waitForSelector(`[data-testid=rollouts] tr[data-rollout="${refused.id}"][data-state="aborted"]`, { timeout: 60_000 });
    await page.click(`[data-testid=rollouts] tr[data-rollout="${refused.id}"] button`);
    const target = await page.waitForSelector(`[data-testid=rollout-targets] tr[data-gateway="${GATEWAY}"][data-state="failed"]`);
    assert.match((await target.textContent()) ?? '', /supervis/i, 'the gateway says why');
    assert.equal(await page.$('[data-testid=abort-rollout]'), null, 'an ended rollout has no abort');
    await page.click(`[data-testid=rollouts] tr[data-rollout="${waiting.id}"][data-state="running"] button`);
    await page.waitForSelector('[data-testid=rollout-targets] tr[data-gateway="prov-gw-2"]');
    await page.fill('input[name=abort-reason]', 'wrong build');
    await page.click('[data-testid=abort-rollout]');
    await page.waitForSelector(`[data-testid=rollouts] tr[data-rollout="${waiting.id}"][data-state="aborted"]`);
    const aborted = await system.cloud.api<{ state: string; reason: string }>(`/api/v1/rollouts/${waiting.id}`);
    assert.equal(aborted.state, 'aborted');
    assert.match(aborted.reason, /wrong build/);
    await screenshot(page, '12-updates');
  });

  it('issue 7: a technician places a loop card by a click on the map; it is drawn there and the API has its location', async () => {
    const technician = { username: 'zhao.tech', password: 'technician-pass-2', role: 'technician', name: '赵技术' };
    await system.cloud.api('/api/v1/users', { method: 'POST', body: JSON.stringify(technician) });
    const { page } = await open('en');
    await signIn(page, system.baseUrl, technician.username, technician.password);
    const key = `${GATEWAY}/loop-1`;
    assert.equal(await page.getAttribute(`svg.map [data-device="${key}"]`, 'data-placed'), null, 'not placed yet: on the ring');
    await page.goto(`${system.baseUrl}/gateways/${GATEWAY}/devices/loop-1`);
    await page.waitForSelector('[data-testid=device-location]:has-text("not placed")');
    await page.click('[data-testid=place-on-map]');
    await page.waitForURL('**/map?place=*');
    await page.waitForSelector(`svg.map.placing [data-device="${key}"][data-placing="true"]`);
    await page.waitForSelector('[data-testid=place-message]:has-text("Click on the map")');
    // A point inside the grid cell (which frames the map), in the map's own coordinates, clicked where the browser draws it.
    const target = { x: 430, y: 200 };
    const onScreen = () => page.evaluate(({ x, y }) => {
      const svg = (globalThis as any).document.querySelector('svg.map');
      const at = new (globalThis as any).DOMPoint(x, y).matrixTransform(svg.getScreenCTM());
      return { x: at.x as number, y: at.y as number };
    }, target);
    const client = await onScreen();
    await page.mouse.click(client.x, client.y);
    await page.waitForSelector('[data-testid=place-message]:has-text("placed at")');
    const placed = await page.waitForSelector(`svg.map:not(.placing) [data-device="${key}"][data-placed="true"]`);
    const drawn = { x: Number(await placed.getAttribute('data-x')), y: Number(await placed.getAttribute('data-y')) };
    assert.ok(Math.abs(drawn.x - target.x) < 1 && Math.abs(drawn.y - target.y) < 1, `drawn at ${JSON.stringify(drawn)}, clicked ${JSON.stringify(target)}`);
    // Its symbol is there on the screen too, not only in its attributes (where the clicked map point is now: the bar above the map changed).
    const box = (await page.locator(`svg.map [data-device="${key}"] polygon`).boundingBox())!;
    const now = await onScreen();
    assert.ok(Math.abs(box.x + box.width / 2 - now.x) < 3 && Math.abs(box.y + box.height / 2 - now.y) < 3, `symbol at ${JSON.stringify(box)}, clicked point now at ${JSON.stringify(now)}`);
    const device = await system.cloud.api<{ location: { lat: number; lon: number; placedBy: string } | null }>(`/api/v1/gateways/${GATEWAY}/devices/loop-1`);
    assert.ok(device.location, 'the API has its location');
    // Inside the grid cell [120.15, 30.25, 120.17, 30.27], north of the site (y 200 is above the middle, 310).
    assert.ok(device.location.lon > 120.15 && device.location.lon < 120.17 && device.location.lat > 30.26 && device.location.lat < 30.27, JSON.stringify(device.location));
    assert.equal(device.location.placedBy, technician.username);
    await screenshot(page, '14-device-placed');
    await page.goto(`${system.baseUrl}/gateways/${GATEWAY}/devices/loop-1`);
    await page.waitForSelector(`[data-testid=device-location]:has-text("${device.location.lat.toFixed(6)}")`);
  });

  it('issue 6: a controller creates an API token of their own on "My account", uses it, and revokes it', async () => {
    const { page } = await open('en');
    await signIn(page, system.baseUrl, USERS.controller.username, USERS.controller.password);
    await page.click('a[data-nav="/account"]');
    await page.waitForSelector(`[data-testid=account-user]:has-text("${USERS.controller.username}")`);
    await page.waitForSelector('[data-testid=my-tokens] [data-testid=tokens]');
    await page.fill('[data-testid=my-tokens] input[name=token-name]', 'wall display');
    await page.fill('[data-testid=my-tokens] input[name=token-days]', '30');
    await page.click('[data-testid=my-tokens] [data-testid=token-form] button[type=submit]');
    const token = ((await page.textContent('[data-testid=new-api-token] code')) ?? '').trim();
    assert.match(token, /^qlk_api_/);
    const me = await fetch(`${system.baseUrl}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.status, 200, 'the new token works');
    const row = await page.waitForSelector('[data-testid=my-tokens] tr[data-active="true"]:has-text("wall display")');
    const id = await row.getAttribute('data-token');
    await screenshot(page, '15-my-account');
    await page.click(`[data-testid=my-tokens] tr[data-token="${id}"] [data-testid=revoke-api-token]`);
    await page.waitForSelector(`[data-testid=my-tokens] tr[data-token="${id}"][data-active="false"]`);
    await page.waitForSelector('[data-testid=account-message]:has-text("revoked")');
    const after = await fetch(`${system.baseUrl}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(after.status, 401, 'a revoked token no longer works');
    // Sign-out from the account page.
    await page.click('[data-testid=account-signout]');
    await page.waitForSelector('input[name=username]');
  });

  it('issue 6: a rotation the gateway never confirms shows as pending on its page, and an admin cancels it', async () => {
    // A gateway that is online but answers no command (a hung agent): the rotation times out (504).
    const silent = 'silent-gw';
    const password = await system.cloud.addGateway(silent, 'Answers nothing');
    const connect = () => mqtt.connectAsync(system.cloud.mqttUrl, { clientId: silent, username: silent, password, reconnectPeriod: 0 });
    let client = await connect();
    try {
      await client.publishAsync(`quanlink/v1/gw/${silent}/status`, JSON.stringify({ v: 1, state: 'online', ts: Date.now() }), { qos: 1, retain: true });
      await waitUntil('the silent gateway online', () => system.cloud.api<{ online: boolean }>(`/api/v1/gateways/${silent}`), (g) => g.online, { timeoutMs: 15_000 });
      const { page } = await open('en');
      await signIn(page, system.baseUrl, USERS.admin.username, USERS.admin.password);
      await page.goto(`${system.baseUrl}/gateways/${silent}`);
      await page.click('[data-testid=rotate]');
      await page.waitForSelector('[data-testid=action-result].error:has-text("both stay valid")', { timeout: 40_000 });
      await page.waitForSelector('[data-testid=rotation-pending]:has-text("rotation pending since")', { timeout: 15_000 });
      assert.notEqual((await system.cloud.api<{ rotationPendingSince: number | null }>(`/api/v1/gateways/${silent}/fleet`)).rotationPendingSince, null);
      await screenshot(page, '16-rotation-pending');
      await page.click('[data-testid=cancel-rotation]');
      await page.waitForSelector('[data-testid=action-result]:not(.error):has-text("cancelled")');
      await page.waitForSelector('[data-testid=rotation-pending]', { state: 'detached' });
      assert.equal((await system.cloud.api<{ rotationPendingSince: number | null }>(`/api/v1/gateways/${silent}/fleet`)).rotationPendingSince, null);
      // The current password still gets in.
      await client.endAsync();
      client = await connect();
      assert.equal(client.connected, true);
    } finally {
      await client.endAsync(true);
    }
  });

  it('issue 6: a viewer sees the fleet, sites and configuration but no write buttons', async () => {
    const { page } = await open('en');
    await signIn(page, system.baseUrl, USERS.viewer.username, USERS.viewer.password);
    for (const nav of ['/enrolment', '/users']) assert.equal(await page.$(`a[data-nav="${nav}"]`), null, `no ${nav} for a viewer`);
    await page.goto(`${system.baseUrl}/gateways/${GATEWAY}`);
    await page.waitForSelector('[data-testid=config-in-sync]');
    await page.waitForSelector('[data-testid=gateway-devices] tr[data-device="loop-3"]');
    assert.equal(await page.$('[data-testid=config-save]'), null, 'no save');
    assert.equal(await page.getAttribute('textarea[name=desired-config]', 'readonly'), '', 'the config is read-only');
    assert.equal(await page.isVisible('[data-testid=gateway-actions]'), false, 'no placement, revoke or rotate');
    await screenshot(page, '13-viewer-gateway');
    await page.click('a[data-nav="/sites"]');
    await page.waitForSelector('[data-testid=sites] tr[data-site="prov-site"]');
    await page.waitForSelector('[data-testid=read-only]');
    assert.equal(await page.$('[data-testid=site-form]'), null);
    assert.equal(await page.$('[data-testid=sites] button'), null, 'no edit or delete');
    await page.click('a[data-nav="/updates"]');
    await page.waitForSelector('[data-testid=updates-message]', { state: 'attached' });
    assert.equal(await page.$('[data-testid=upload-form]'), null, 'no upload');
    // A page the role may not read says so (the cloud refuses it).
    await page.goto(`${system.baseUrl}/users`);
    await page.waitForSelector('[data-testid=users-message].error');
  });
});
