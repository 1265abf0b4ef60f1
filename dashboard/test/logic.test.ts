/**
 * The dashboard's own logic without a browser: the modules under src/logic touch no DOM, so node
 * runs them as they are (routes, roles, map layout, chart scales, the compose form, the provisioning
 * helpers, and the completeness of both languages).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { formOf } from '../src/logic/compose.js';
import {
  configText,
  enrolCommand,
  filtersFromQuery,
  formatBytes,
  formatDisk,
  formatUptime,
  gatewayListPath,
  GATEWAY_STATUSES,
  gridCellBody,
  parseConfigText,
  reasonsOf,
  siteBody,
} from '../src/logic/fleet.js';
import { HEIGHT, WIDTH, layout, type MapData } from '../src/logic/geo.js';
import { ROLES, roleMay, type Action } from '../src/logic/roles.js';
import { NAV, PAGE_PATTERNS, isActive, matchRoute, routeTable, visibleNav } from '../src/logic/routes.js';
import { rolloutBody } from '../src/logic/rollout.js';
import { niceStep, timeTicks, valueAxis } from '../src/logic/scale.js';
import { DICTIONARIES, type TextKey } from '../src/logic/texts.js';
import type { Device, Gateway } from '../src/types.js';

describe('routes', () => {
  const table = routeTable(Object.fromEntries(Object.keys(PAGE_PATTERNS).map((page) => [page, page])) as Record<keyof typeof PAGE_PATTERNS, string>);

  it('issue 7: each path goes to its page with its URL-decoded parameters', () => {
    assert.deepEqual(matchRoute('/map', table), { view: 'map', params: {} });
    assert.deepEqual(matchRoute('/gateways', table), { view: 'gateways', params: {} });
    assert.deepEqual(matchRoute('/gateways/gw%2F1', table), { view: 'gateway', params: { gatewayId: 'gw/1' } });
    assert.deepEqual(matchRoute('/gateways/gw-1/devices/%E5%8C%9D-1', table), { view: 'device', params: { gatewayId: 'gw-1', deviceId: '匝-1' } });
    assert.deepEqual(matchRoute('/users', table), { view: 'users', params: {} });
    assert.deepEqual(matchRoute('/enrolment', table), { view: 'enrolment', params: {} });
  });

  it('issue 7: an unknown path, a path below a leaf page or a malformed escape is no page', () => {
    assert.equal(matchRoute('/nowhere', table), undefined);
    assert.equal(matchRoute('/users/extra', table), undefined);
    assert.equal(matchRoute('/gateways/gw-1/devices', table), undefined);
    assert.equal(matchRoute('/gateways/%E5%8C', table), undefined);
  });

  it('issue 7: the navigation marks the page and the pages below it as active', () => {
    assert.equal(isActive('/gateways/gw-1', '/gateways'), true);
    assert.equal(isActive('/gateways', '/gateways'), true);
    assert.equal(isActive('/gatewaysx', '/gateways'), false);
  });

  it('issue 6: the navigation shows enrolment to provisioners and users to admins only', () => {
    const paths = (role: (typeof ROLES)[number]) => visibleNav(NAV, role).map((entry) => entry.path);
    assert.ok(paths('admin').includes('/users') && paths('admin').includes('/enrolment'));
    assert.ok(paths('technician').includes('/enrolment') && !paths('technician').includes('/users'));
    for (const role of ['viewer', 'controller'] as const) {
      assert.ok(!paths(role).includes('/enrolment') && !paths(role).includes('/users'), role);
      assert.ok(paths(role).includes('/gateways') && paths(role).includes('/sites'), role);
    }
    assert.deepEqual(visibleNav(NAV, undefined).filter((e) => 'needs' in e), [], 'no role, no writing pages');
    for (const entry of NAV) assert.ok(Object.values(PAGE_PATTERNS).some((p) => p.test(entry.path)), `${entry.path} is a page`);
  });
});

describe('roles', () => {
  it('issue 6: each role may make the changes the cloud allows it (cloud/test/http/role-matrix.ts)', () => {
    const expected: Record<Action, string[]> = {
      guidance: ['admin', 'controller'],
      screens: ['admin', 'controller', 'technician'],
      provision: ['admin', 'technician'],
      admin: ['admin'],
    };
    for (const [action, roles] of Object.entries(expected) as [Action, string[]][]) {
      assert.deepEqual(ROLES.filter((role) => roleMay(role, action)), roles, action);
    }
    assert.equal(roleMay(undefined, 'provision'), false);
  });
});

describe('map layout from coordinates', () => {
  const gateway = (id: string, location: { lat: number; lon: number } | null): Gateway => ({ id, name: null, online: true, lastSeen: 0, location });
  const device = (gatewayId: string, deviceId: string, kind: string, location: { lat: number; lon: number } | null = null): Device => ({
    gatewayId, deviceId, kind, location, profile: null, name: null, endpoint: null, state: 'ok', lastError: null, removed: false, updatedAt: null, diagnostics: [],
  });
  const data = (over: Partial<MapData>): MapData => ({ gateways: [], devices: [], screens: [], segments: [], sites: [], gridCells: [], ...over });

  it('issue 7: east is right, north is up, and everything placed stays inside the picture', () => {
    const result = layout(data({
      gateways: [gateway('west', { lat: 30.26, lon: 120.15 }), gateway('east', { lat: 30.26, lon: 120.17 }), gateway('north', { lat: 30.28, lon: 120.16 })],
      gridCells: [{ id: 'cell', name: 'c', polygon: null, bbox: [120.14, 30.25, 120.18, 30.29] }],
    }));
    const west = result.gateways.get('west')!;
    const east = result.gateways.get('east')!;
    const north = result.gateways.get('north')!;
    assert.ok(west.x < north.x && north.x < east.x, 'west to east');
    assert.ok(north.y < west.y, 'north is drawn higher');
    assert.equal(west.y, east.y, 'same latitude, same height');
    const all = [...result.gateways.values(), ...result.cells.get('cell')!];
    for (const p of all) assert.ok(p.x >= 0 && p.x <= WIDTH && p.y >= 0 && p.y <= HEIGHT, JSON.stringify(p));
    assert.equal(result.cells.get('cell')!.length, 4, 'a box is four corners');
    assert.equal(result.schematic, false);
  });

  it('issue 7: a gateway takes its site location; without one it sits at the middle of its placed devices', () => {
    const placed = layout(data({
      gateways: [{ ...gateway('sited', null), site: 's1' }, gateway('bare', null)],
      sites: [{ id: 's1', location: { lat: 30.26, lon: 120.16 } }],
      devices: [device('bare', 'a', 'camera', { lat: 30.27, lon: 120.17 }), device('bare', 'b', 'camera', { lat: 30.27, lon: 120.19 })],
    }));
    const a = placed.devices.get('bare/a')!;
    const b = placed.devices.get('bare/b')!;
    assert.deepEqual(placed.gateways.get('bare'), { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });
    assert.ok(placed.gateways.get('sited')!.x < a.x, 'the site is west of the devices');
  });

  it('issue 7: devices without coordinates ring their gateway at one distance, detectors next to each other', () => {
    const result = layout(data({
      gateways: [gateway('gw', { lat: 30.26, lon: 120.16 })],
      devices: [device('gw', 'sign', 'vms'), device('gw', 'loop-2', 'loop-detector'), device('gw', 'loop-1', 'loop-detector'), device('gw', 'cam', 'camera')],
    }));
    assert.equal(result.schematic, true, 'the page says the ring is schematic');
    const centre = result.gateways.get('gw')!;
    const angle = (key: string) => {
      const p = result.devices.get(key)!;
      return Math.atan2((p.y - centre.y) / 1, (p.x - centre.x) / 1.3);
    };
    const order = ['gw/loop-1', 'gw/loop-2', 'gw/cam', 'gw/sign'].map(angle);
    // Ring order starts at the top (-90°) and goes clockwise by kind, then id.
    assert.ok(Math.abs(order[0]! + Math.PI / 2) < 1e-9, 'first detector at the top');
    for (let i = 1; i < order.length; i++) {
      const step = (order[i]! - order[i - 1]! + 2 * Math.PI) % (2 * Math.PI);
      assert.ok(Math.abs(step - Math.PI / 2) < 1e-9, `quarter turns: ${step}`);
    }
  });
});

describe('chart scales', () => {
  it('issue 7: steps are 1, 2 or 5 times a power of ten', () => {
    assert.equal(niceStep(100, 5), 20);
    assert.equal(niceStep(7, 5), 2);
    assert.equal(niceStep(0.9, 5), 0.2);
    assert.equal(niceStep(3000, 5), 1000);
  });

  it('issue 7: the value axis starts at 0 and reaches at least the largest value in even ticks', () => {
    for (const vMax of [0, 0.37, 1, 7, 42, 99.5, 1234]) {
      const { step, top, ticks } = valueAxis(vMax);
      assert.equal(ticks[0], 0);
      assert.equal(ticks.at(-1), top, `${vMax}: last tick is the top`);
      assert.ok(top >= vMax, `${vMax}: top ${top}`);
      // An empty series is drawn on 0..1.
      assert.ok(top - step < (vMax || 1), `${vMax}: no empty step above the data (top ${top}, step ${step})`);
      for (let i = 1; i < ticks.length; i++) assert.ok(Math.abs(ticks[i]! - ticks[i - 1]! - step) < 1e-9);
    }
    assert.deepEqual(valueAxis(0.37).ticks, [0, 0.1, 0.2, 0.3, 0.4], 'decimal ticks are exact');
  });

  it('issue 7: time ticks run from the first to the last time inclusive', () => {
    assert.deepEqual(timeTicks(1000, 7000, 6), [1000, 2000, 3000, 4000, 5000, 6000, 7000]);
  });
});

describe('compose form', () => {
  it('issue 7: one line per row, an empty row starts a page; blank rows and spaces do not make pages or lines', () => {
    assert.deepEqual(formOf('ROAD WORK\nKEEP LEFT\n\nSLOW'), { pages: [{ lines: ['ROAD WORK', 'KEEP LEFT'] }, { lines: ['SLOW'] }] });
    assert.deepEqual(formOf('  前方拥堵  \n请绕行\n \n\n\n慢行\n'), { pages: [{ lines: ['前方拥堵', '请绕行'] }, { lines: ['慢行'] }] });
    assert.deepEqual(formOf('\n\n  \n'), { pages: [] });
  });
});

describe('provisioning helpers', () => {
  it('issue 6: the fleet query carries only the filters that are set', () => {
    assert.equal(gatewayListPath({}), '/api/v1/gateways');
    assert.equal(gatewayListPath({ site: 'box-12', status: '', q: '  ' }), '/api/v1/gateways?site=box-12');
    assert.equal(gatewayListPath({ gridCell: 'cell-7', status: 'revoked', deviceKind: 'vms', q: 'ring road' }), '/api/v1/gateways?gridCell=cell-7&status=revoked&deviceKind=vms&q=ring+road');
    assert.deepEqual(filtersFromQuery('?site=box-12&status=&other=1'), { site: 'box-12' });
    assert.deepEqual([...GATEWAY_STATUSES], ['online', 'offline', 'revoked']);
  });

  it('issue 6: telemetry reads as sizes, durations and disk use', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KB');
    assert.equal(formatBytes(83 * 1048576), '83 MB');
    assert.equal(formatBytes(undefined), '—');
    assert.equal(formatUptime(59), '0 min 59 s');
    assert.equal(formatUptime(3 * 3600 + 7 * 60 + 5), '3 h 7 min');
    assert.equal(formatUptime(2 * 86_400 + 5 * 3600), '2 d 5 h');
    assert.equal(formatUptime(-1), '—');
    assert.equal(formatDisk({ freeBytes: 25 * 1073741824, totalBytes: 100 * 1073741824 }), '75 % (25 GB / 100 GB)');
    assert.equal(formatDisk({ freeBytes: 0, totalBytes: 0 }), '—');
  });

  it('issue 6: the enrolment command carries the cloud and the token, quoted for the shell, with --ca over https', () => {
    assert.equal(enrolCommand('http://10.0.0.5:8080', 'qle_abc-123'), 'quanlink-edge enrol --cloud http://10.0.0.5:8080 --token qle_abc-123 --config /etc/quanlink/edge.json');
    assert.equal(enrolCommand('https://cloud.example:8443', 'qle_x'), 'quanlink-edge enrol --cloud https://cloud.example:8443 --token qle_x --config /etc/quanlink/edge.json --ca ca.crt');
    assert.match(enrolCommand('http://h', "it's $(odd)"), /--token 'it'\\''s \$\(odd\)'/);
  });

  it("issue 6: a gateway's refusal splits into its reasons", () => {
    const message = 'config version 3 refused by gateway gw-1: 2 problems: devices[0].transport.port: Expected integer to be less or equal to 65535; devices[1].profile: unknown profile "nope"; and 4 more';
    assert.deepEqual(reasonsOf(message), ['devices[0].transport.port: Expected integer to be less or equal to 65535', 'devices[1].profile: unknown profile "nope"', 'and 4 more']);
    assert.deepEqual(reasonsOf('config version 2 refused by gateway g: 1 problem: devices: duplicate id "a"'), ['devices: duplicate id "a"']);
    assert.deepEqual(reasonsOf('apply failed: disk full'), ['apply failed: disk full'], 'a message without a list is one reason');
  });

  it('issue 6: the config editor refuses what is not a configuration before it goes anywhere, and shows only managed keys', () => {
    assert.equal(parseConfigText('{"devices": []}').ok, true);
    const notJson = parseConfigText('{devices: []');
    assert.equal(notJson.ok, false);
    assert.match((notJson as { error: string }).error, /^not JSON/);
    assert.deepEqual(parseConfigText('[]'), { ok: false, error: 'the configuration must be a JSON object with "devices"' });
    assert.deepEqual(parseConfigText('{"devices": {}}'), { ok: false, error: '"devices" must be an array' });
    assert.equal(configText(null), '{\n  "devices": []\n}');
    assert.deepEqual(JSON.parse(configText({ devices: [{ id: 'a' }], telemetryIntervalS: 30, extra: 1 } as never)), { devices: [{ id: 'a' }], telemetryIntervalS: 30 });
  });

  it('issue 6: site and grid cell forms become API bodies, and every bad field is named', () => {
    assert.deepEqual(siteBody({ name: ' Box 12 ', lat: '31.23', lon: '121.47', gridCell: 'cell-7', address: '' }), { ok: true, body: { name: 'Box 12', location: { lat: 31.23, lon: 121.47 }, gridCell: 'cell-7', address: null } });
    assert.deepEqual(siteBody({ name: 'x', lat: '', lon: '', gridCell: '', address: 'Ring road' }), { ok: true, body: { name: 'x', location: null, gridCell: null, address: 'Ring road' } });
    assert.equal((siteBody({ name: '', lat: '', lon: '', gridCell: '', address: '' }) as { field: string }).field, 'name');
    assert.equal((siteBody({ name: 'x', lat: '31', lon: '', gridCell: '', address: '' }) as { field: string }).field, 'lon');
    assert.equal((siteBody({ name: 'x', lat: '91', lon: '120', gridCell: '', address: '' }) as { field: string }).field, 'lat');
    assert.equal((siteBody({ name: 'x', lat: 'north', lon: '120', gridCell: '', address: '' }) as { field: string }).field, 'lat');
    assert.deepEqual(gridCellBody({ name: '七号网格', bbox: '121.4, 31.2, 121.5 31.3' }), { ok: true, body: { name: '七号网格', bbox: [121.4, 31.2, 121.5, 31.3] } });
    assert.deepEqual(gridCellBody({ name: 'c', bbox: '' }), { ok: true, body: { name: 'c', bbox: null } });
    for (const bbox of ['1,2,3', '121.5,31.2,121.4,31.3', '200,0,201,1', 'a,b,c,d']) {
      assert.equal((gridCellBody({ name: 'c', bbox }) as { ok: boolean; field?: string }).field, 'bbox', bbox);
    }
  });
});

describe('interface text', () => {
  const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

  it('issue 7: every key is in both languages, none empty, with the same {placeholders}', () => {
    const enKeys = Object.keys(DICTIONARIES.en).sort();
    assert.deepEqual(Object.keys(DICTIONARIES.zh).sort(), enKeys);
    for (const key of enKeys as TextKey[]) {
      assert.ok(DICTIONARIES.en[key].trim() !== '' && DICTIONARIES.zh[key].trim() !== '', `${key} has text in both`);
      assert.deepEqual(placeholders(DICTIONARIES.zh[key]), placeholders(DICTIONARIES.en[key]), `${key}: placeholders`);
    }
  });

  it('issue 7: keys built at run time (roles, statuses, token states, nav) exist', () => {
    const built = [
      ...ROLES.map((r) => `role.${r}`),
      ...GATEWAY_STATUSES.map((s) => `fleet.status.${s}`),
      ...['unused', 'used', 'expired', 'revoked'].map((s) => `enrol.state.${s}`),
      ...['pending', 'applied', 'rejected'].map((s) => `config.outcome.${s}`),
      ...['desired', 'applied', 'rejected', 'reported'].map((s) => `config.kind.${s}`),
      ...['cloud', 'local'].map((s) => `config.source.${s}`),
      ...['name', 'lat', 'lon', 'bbox'].map((s) => `sites.field.${s}`),
      // cloud/src/updates/types.ts TARGET_STATES and the rollout states
      ...['pending', 'sent', 'downloading', 'verifying', 'installed', 'healthy', 'failed', 'rolled-back', 'skipped', 'running', 'completed', 'aborted'].map((s) => `updates.state.${s}`),
      ...NAV.map((entry) => entry.key),
    ];
    for (const key of built) assert.ok(key in DICTIONARIES.en, key);
  });

  it('issue 7: the Chinese interface is Chinese (nav and page titles are not left in English)', () => {
    for (const key of Object.keys(DICTIONARIES.en).filter((k) => k.startsWith('nav.') || k.endsWith('.title')) as TextKey[]) {
      assert.match(DICTIONARIES.zh[key], /[\u4e00-\u9fff]/, key);
    }
  });
});

describe('module boundaries', () => {
  it('issue 7: src/logic touches no DOM, so node and the unit tests can import it', () => {
    const dir = new URL('../src/logic/', import.meta.url);
    for (const file of readdirSync(dir)) {
      const text = readFileSync(new URL(file, dir), 'utf8');
      assert.doesNotMatch(text, /\b(document|window|localStorage|sessionStorage|HTMLElement)\b/, `${file} uses the DOM`);
      for (const [, from] of text.matchAll(/from '([^']+)'/g)) {
        assert.ok(from!.startsWith('./') || from === '../types.js', `${file} imports ${from}`);
      }
    }
  });
});

describe('rollout form', () => {
  const form = { updateId: 'upd-1', target: 'gateways' as const, gateways: ['gw-1', 'gw-2'], site: '', maxConcurrent: '2', perMinute: '', abortAfterFailures: '25 %', healthTimeoutS: '' };
  it('issue 6: the rollout form gives the API body: one kind of target, numbers as numbers, a share as "N%", empty fields left out', () => {
    assert.deepEqual(rolloutBody(form), { updateId: 'upd-1', gateways: ['gw-1', 'gw-2'], maxConcurrent: 2, abortAfterFailures: '25%' });
    assert.deepEqual(rolloutBody({ ...form, target: 'site', site: 'box-12', abortAfterFailures: '3', perMinute: '10', healthTimeoutS: '60' }), {
      updateId: 'upd-1', site: 'box-12', maxConcurrent: 2, perMinute: 10, healthTimeoutS: 60, abortAfterFailures: 3,
    });
    assert.deepEqual(rolloutBody({ ...form, target: 'all', maxConcurrent: '', abortAfterFailures: '' }), { updateId: 'upd-1', all: true });
  });
  it('issue 6: a field that is not a whole number is sent as typed, so that the cloud refuses it naming the field', () => {
    assert.equal(rolloutBody({ ...form, maxConcurrent: '1.5' }).maxConcurrent, '1.5');
    assert.equal(rolloutBody({ ...form, abortAfterFailures: 'many' }).abortAfterFailures, 'many');
  });
});

describe('placing on the map', () => {
  const data = (devices: MapData['devices']): MapData => ({
    gateways: [{ id: 'gw-1', online: true, location: { lat: 31.23, lon: 121.47 } } as MapData['gateways'][number], { id: 'gw-2', online: true, location: { lat: 31.24, lon: 121.49 } } as MapData['gateways'][number]],
    devices, screens: [], segments: [], sites: [], gridCells: [],
  });
  const loop = { gatewayId: 'gw-1', deviceId: 'loop-1', profile: null, kind: 'loop-detector', name: null, endpoint: null, state: 'ok', lastError: null, removed: false, updatedAt: 0, diagnostics: [] };
  it('issue 7: a clicked screen point maps back to the coordinates that are drawn there', () => {
    const before = layout(data([loop]));
    assert.ok(before.unproject);
    const clicked = { x: 480, y: 300 };
    const at = before.unproject(clicked);
    assert.ok(at.lat > 31.2 && at.lat < 31.3 && at.lon > 121.4 && at.lon < 121.5, JSON.stringify(at));
    // Inside the frame the gateways span, the placed device is drawn where it was clicked.
    const after = layout(data([{ ...loop, location: at }]));
    const drawn = after.devices.get('gw-1/loop-1')!;
    // (to a hundredth of a pixel: the projection's mean latitude moves a little with the new point)
    assert.ok(Math.abs(drawn.x - clicked.x) < 0.01 && Math.abs(drawn.y - clicked.y) < 0.01, JSON.stringify(drawn));
    assert.equal(after.schematic, false);
  });
  it('issue 7: with nothing placed there is no frame to place in', () => {
    assert.equal(layout({ gateways: [{ id: 'gw-1', online: true } as MapData['gateways'][number]], devices: [loop], screens: [], segments: [], sites: [], gridCells: [] }).unproject, null);
  });
});
