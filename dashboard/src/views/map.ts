/**
 * The city map ("一张图"), drawn offline as SVG from coordinates: sites, gateways and devices with
 * live status, road segments coloured by GB/T 33171 grade. Things without coordinates are placed
 * schematically: a gateway on a row, its devices on a ring around it.
 */
import { api, apiOptional, can, live } from '../api.js';
import { h, s, fill, formatNumber } from '../dom.js';
import { t, tMaybe } from '../i18n.js';
import type { Device, Gateway, LatLon, Screen, Segment } from '../types.js';
import { every, type View } from '../view.js';
import { HEIGHT, WIDTH, layout, type GridCell, type MapData, type Point, type Site } from '../logic/geo.js';

export type { MapData } from '../logic/geo.js';

export const GRADE_COLOURS: Record<number, string> = { 1: '#2e9d49', 2: '#8cc63f', 3: '#e6b800', 4: '#f07f13', 5: '#c81e1e' };
const UNKNOWN_COLOUR = '#9aa3ad';

export function gradeColour(segment: Segment): string {
  const code = segment.state?.grade?.code;
  return code === undefined ? UNKNOWN_COLOUR : (GRADE_COLOURS[code] ?? UNKNOWN_COLOUR);
}

export function gradeText(segment: Segment): string {
  const code = segment.state?.grade?.code;
  return code === undefined ? t('grade.unknown') : tMaybe(`grade.${code}`, segment.state?.grade?.nameZh ?? String(code));
}

function statusColour(state: string | null | undefined, gatewayOnline: boolean): string {
  if (!gatewayOnline) return '#7b8591';
  if (state === 'ok') return '#2e9d49';
  if (state === null || state === undefined || state === 'unknown') return '#9aa3ad';
  return '#c81e1e';
}

function deviceShape(kind: string | null, at: Point, colour: string): SVGElement {
  const attrs = { fill: colour, stroke: '#1d2630', 'stroke-width': 1.5 };
  if (kind === 'vms') return s('rect', { ...attrs, x: at.x - 14, y: at.y - 8, width: 28, height: 16, rx: 2 });
  if (kind === 'camera') return s('polygon', { ...attrs, points: `${at.x - 11},${at.y + 9} ${at.x + 11},${at.y + 9} ${at.x},${at.y - 11}` });
  if (kind === 'loop-detector') return s('polygon', { ...attrs, points: `${at.x},${at.y - 11} ${at.x + 11},${at.y} ${at.x},${at.y + 11} ${at.x - 11},${at.y}` });
  return s('circle', { ...attrs, cx: at.x, cy: at.y, r: 9 });
}

/** Picking screens on the map (the guidance page's targets): a click on a screen toggles it. */
export interface ScreenPicker {
  selected: ReadonlySet<string>;
  toggle(key: string): void;
}

/** Placing a device by a click on the map: the device ('gateway/device') and what to do with the clicked point. */
export interface DevicePlacer {
  key: string;
  place(at: LatLon): void;
}

/**
 * The map as SVG. Without `picker` every symbol links to its page; with it, screens toggle instead.
 * With `placer` nothing links: a click anywhere gives the WGS 84 point under it.
 */
export function mapSvg(data: MapData, picker?: ScreenPicker, placer?: DevicePlacer): { svg: SVGSVGElement; schematic: boolean; canPlace: boolean } {
  const online = new Map(data.gateways.map((gw) => [gw.id, gw.online]));
  const { gateways, devices, cells, schematic, unproject } = layout(data);
  const svg = s('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: placer ? 'map placing' : 'map', role: 'img', 'aria-label': t('map.title') });
  if (placer && unproject) {
    svg.addEventListener('click', (event) => {
      const matrix = svg.getScreenCTM();
      if (!matrix) return;
      const at = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
      placer.place(unproject({ x: at.x, y: at.y }));
    });
  }
  svg.append(s('rect', { x: 0, y: 0, width: WIDTH, height: HEIGHT, fill: '#eef2f5' }));
  for (const cell of data.gridCells) {
    const outline = cells.get(cell.id);
    if (!outline) continue;
    const top = outline.reduce((a, p) => (p.y < a.y || (p.y === a.y && p.x < a.x) ? p : a), outline[0]!);
    svg.append(s('g', { 'data-grid-cell': cell.id },
      s('polygon', { points: outline.map((p) => `${p.x},${p.y}`).join(' '), fill: 'rgba(31,111,235,0.05)', stroke: '#8fb3e8', 'stroke-dasharray': '6 4' }),
      s('text', { x: top.x + 4, y: top.y + 14, class: 'map-label' }, cell.name),
    ));
  }
  // Gateway-to-device links first, segments over them, symbols on top.
  for (const d of data.devices.filter((x) => !x.removed)) {
    const from = gateways.get(d.gatewayId);
    const to = devices.get(`${d.gatewayId}/${d.deviceId}`);
    if (from && to) svg.append(s('line', { x1: from.x, y1: from.y, x2: to.x, y2: to.y, stroke: '#c5ced8', 'stroke-dasharray': '4 4' }));
  }
  for (const segment of data.segments) {
    const keys = [...new Set(segment.lanes.map((l) => `${l.gatewayId}/${l.deviceId}`))];
    const points = keys.map((k) => devices.get(k)).filter((p): p is Point => p !== undefined);
    if (points.length === 0) continue;
    const colour = gradeColour(segment);
    // Screens that stand on the segment hang off its nearest detector.
    for (const sc of data.screens.filter((x) => x.segment === segment.id)) {
      const at = devices.get(sc.key);
      if (!at) continue;
      const near = points.reduce((a, p) => (Math.hypot(p.x - at.x, p.y - at.y) < Math.hypot(a.x - at.x, a.y - at.y) ? p : a), points[0]!);
      svg.append(s('line', { x1: at.x, y1: at.y, x2: near.x, y2: near.y, stroke: colour, 'stroke-width': 3, opacity: 0.6 }));
    }
    const title = s('title', null, `${segment.name ?? segment.id}: ${gradeText(segment)}`);
    const path = points.length === 1
      ? s('circle', { cx: points[0]!.x, cy: points[0]!.y, r: 22, fill: 'none', stroke: colour, 'stroke-width': 8 }, title)
      : s('polyline', { points: points.map((p) => `${p.x},${p.y}`).join(' '), fill: 'none', stroke: colour, 'stroke-width': 10, 'stroke-linecap': 'round', 'stroke-linejoin': 'round', opacity: 0.85 }, title);
    path.setAttribute('data-segment', segment.id);
    path.setAttribute('data-grade', String(segment.state?.grade?.code ?? ''));
    svg.append(path);
  }
  for (const gw of data.gateways) {
    const at = gateways.get(gw.id)!;
    svg.append(
      s(placer ? 'g' : 'a', { href: placer ? undefined : `/gateways/${encodeURIComponent(gw.id)}`, 'data-gateway': gw.id },
        s('rect', { x: at.x - 16, y: at.y - 16, width: 32, height: 32, rx: 5, fill: gw.online ? '#1f6feb' : '#7b8591', stroke: '#1d2630', 'stroke-width': 1.5 }),
        s('text', { x: at.x, y: at.y + 32, 'text-anchor': 'middle', class: 'map-label strong' }, gw.name ?? gw.id),
        s('title', null, `${t('kind.gateway')} ${gw.id}: ${t(gw.online ? 'common.online' : 'common.offline')}`),
      ),
    );
  }
  for (const d of data.devices.filter((x) => !x.removed)) {
    const key = `${d.gatewayId}/${d.deviceId}`;
    const at = devices.get(key);
    if (!at) continue;
    const gwOnline = online.get(d.gatewayId) ?? false;
    const symbol = [
      // A generous invisible target, so a click near the small symbol or its label counts.
      s('rect', { x: at.x - 30, y: at.y - 22, width: 60, height: 54, fill: 'transparent' }),
      deviceShape(d.kind, at, statusColour(d.state, gwOnline)),
      s('text', { x: at.x, y: at.y + 26, 'text-anchor': 'middle', class: 'map-label' }, d.name ?? d.deviceId),
      s('title', null, `${tMaybe(`kind.${d.kind}`, d.kind ?? '')} ${d.deviceId}: ${d.state ?? '—'}${d.lastError ? ` (${d.lastError.message})` : ''}`),
    ];
    const attrs = { 'data-device': key, 'data-state': gwOnline ? (d.state ?? 'unknown') : 'offline', 'data-x': at.x.toFixed(2), 'data-y': at.y.toFixed(2), 'data-placed': d.location ? 'true' : undefined };
    if (placer) {
      const target = placer.key === key;
      svg.append(s('g', { ...attrs, 'data-placing': target ? 'true' : undefined }, target ? s('circle', { cx: at.x, cy: at.y, r: 20, fill: 'none', stroke: '#1f6feb', 'stroke-width': 4, 'stroke-dasharray': '5 3' }) : null, symbol));
    } else if (!picker) {
      svg.append(s('a', { href: `/gateways/${encodeURIComponent(d.gatewayId)}/devices/${encodeURIComponent(d.deviceId)}`, ...attrs }, symbol));
    } else if (d.kind === 'vms') {
      const chosen = picker.selected.has(key);
      svg.append(s('g', { ...attrs, class: 'pickable', 'data-picked': chosen, onClick: () => picker.toggle(key) },
        chosen ? s('circle', { cx: at.x, cy: at.y, r: 20, fill: 'none', stroke: '#1f6feb', 'stroke-width': 4 }) : null,
        symbol));
    } else {
      svg.append(s('g', { ...attrs, opacity: 0.5 }, symbol));
    }
  }
  if (data.gateways.length === 0) svg.append(s('text', { x: WIDTH / 2, y: HEIGHT / 2, 'text-anchor': 'middle' }, t('map.noData')));
  return { svg, schematic, canPlace: unproject !== null };
}

/** What the map draws, from the API (sites and grid cells when the cloud has them). */
export async function loadMapData(): Promise<MapData> {
  const [gateways, devices, screens, segments, sites, gridCells] = await Promise.all([
    api<{ gateways: Gateway[] }>('/api/v1/gateways'),
    api<{ devices: Device[] }>('/api/v1/devices'),
    apiOptional<{ screens: Screen[] }>('/api/v1/screens'),
    api<{ segments: Segment[] }>('/api/v1/segments'),
    apiOptional<{ sites: Site[] }>('/api/v1/sites').catch(() => undefined),
    apiOptional<{ gridCells: GridCell[] }>('/api/v1/grid-cells').catch(() => undefined),
  ]);
  // A cloud with fleet placement lists each gateway's site in /gateways/{id}/fleet (only asked for a small fleet).
  const list = gateways.gateways;
  if (sites && list.length <= 50) {
    await Promise.all(list.filter((gw) => gw.site === undefined).map(async (gw) => {
      const fleet = await apiOptional<{ site: string | null; location: LatLon | null }>(`/api/v1/gateways/${encodeURIComponent(gw.id)}/fleet`).catch(() => undefined);
      if (fleet) Object.assign(gw, { site: fleet.site, location: fleet.location ?? gw.location ?? null });
    }));
  }
  return { gateways: list, devices: devices.devices, screens: screens?.screens ?? [], segments: segments.segments, sites: sites?.sites ?? [], gridCells: gridCells?.gridCells ?? [] };
}

/** The device to place, from `/map?place=gateway/device` (the device page's "place on map"). */
function deviceToPlace(): { key: string; gatewayId: string; deviceId: string } | undefined {
  const key = new URLSearchParams(location.search).get('place');
  const slash = key?.indexOf('/') ?? -1;
  if (!key || slash <= 0) return undefined;
  return { key, gatewayId: key.slice(0, slash), deviceId: key.slice(slash + 1) };
}

export const mapView: View = (root) => {
  const svgHolder = h('div', { class: 'map-canvas', 'data-testid': 'map' });
  const side = h('aside', { class: 'map-side' });
  const note = h('p', { class: 'muted' });
  const placeBar = h('div', { class: 'card', 'data-testid': 'place-bar', hidden: true });
  fill(root, h('h1', null, t('map.title')), placeBar, h('div', { class: 'map-layout' }, h('div', null, svgHolder, note), side));
  let placing = can('provision') ? deviceToPlace() : undefined;
  let latest: MapData | undefined;

  const showPlaceBar = (text: string, isError = false, withCancel = true) => {
    placeBar.hidden = false;
    fill(placeBar,
      h('span', { class: isError ? 'error' : undefined, 'data-testid': 'place-message', role: 'status' }, text), ' ',
      withCancel ? h('button', { type: 'button', class: 'small', 'data-testid': 'place-cancel', onClick: () => { placing = undefined; placeBar.hidden = true; history.replaceState(null, '', '/map'); if (latest) draw(latest); } }, t('place.cancel')) : null,
    );
  };
  const place = async (target: NonNullable<typeof placing>, at: LatLon) => {
    const location = { lat: Number(at.lat.toFixed(7)), lon: Number(at.lon.toFixed(7)) };
    try {
      await api(`/api/v1/gateways/${encodeURIComponent(target.gatewayId)}/devices/${encodeURIComponent(target.deviceId)}/placement`, { method: 'PUT', json: { location } });
      placing = undefined;
      history.replaceState(null, '', '/map');
      showPlaceBar(t('place.done', { device: target.key, lat: location.lat.toFixed(6), lon: location.lon.toFixed(6) }), false, false);
      await load();
    } catch (err) {
      showPlaceBar(t('common.error', { message: (err as Error).message }), true);
    }
  };

  const draw = (data: MapData) => {
    latest = data;
    const target = placing;
    const { svg, schematic, canPlace } = mapSvg(data, undefined, target && { key: target.key, place: (at) => void place(target, at) });
    if (target) showPlaceBar(canPlace ? t('place.prompt', { device: target.key }) : t('place.noFrame'), !canPlace);
    note.textContent = schematic ? t('map.schematic') : '';
    fill(svgHolder, svg);
    fill(
      side,
      h('h2', null, t('map.segments')),
      data.segments.length === 0 ? h('p', { class: 'muted' }, t('common.none')) : null,
      h('ul', { class: 'segment-list' },
        data.segments.map((segment) =>
          h('li', { 'data-segment': segment.id },
            h('span', { class: 'swatch', style: `background:${gradeColour(segment)}` }),
            h('span', null, h('strong', null, segment.name ?? segment.id), h('br'), h('small', null, `${gradeText(segment)} · ${t('map.speed', { speed: formatNumber(segment.state?.speed ?? null, 0) })}`)),
          ),
        ),
      ),
      h('h3', null, t('map.legend.grade')),
      h('ul', { class: 'legend' }, [1, 2, 3, 4, 5].map((code) => h('li', null, h('span', { class: 'swatch', style: `background:${GRADE_COLOURS[code]}` }), tMaybe(`grade.${code}`, String(code))))),
      h('h3', null, t('map.legend.status')),
      h('ul', { class: 'legend' },
        h('li', null, h('span', { class: 'swatch', style: 'background:#2e9d49' }), 'ok'),
        h('li', null, h('span', { class: 'swatch', style: 'background:#c81e1e' }), t('detectors.unhealthy')),
        h('li', null, h('span', { class: 'swatch', style: 'background:#7b8591' }), t('common.offline')),
        h('li', null, '◆ ', t('kind.loop-detector'), ' ▭ ', t('kind.vms'), ' ▲ ', t('kind.camera'), ' ■ ', t('kind.gateway')),
      ),
    );
  };

  const load = async () => {
    try {
      draw(await loadMapData());
    } catch (err) {
      fill(svgHolder, h('p', { class: 'error' }, t('common.error', { message: (err as Error).message })));
    }
  };
  const stopPolling = every(5000, load);
  let pending: ReturnType<typeof setTimeout> | undefined;
  const stopLive = live.subscribe((event) => {
    if (!['screen', 'camera', 'grade'].includes(event.type) || pending) return;
    pending = setTimeout(() => {
      pending = undefined;
      void load();
    }, 300);
  });
  return () => {
    stopPolling();
    stopLive();
    clearTimeout(pending);
  };
};
