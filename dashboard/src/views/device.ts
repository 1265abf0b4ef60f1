/** One device: configuration and health, sample periods over time as a chart, lane totals, readings, events. */
import { api, apiOptional, can, loadImage } from '../api.js';
import { lineChart, SERIES_COLOURS } from '../chart.js';
import { h, fill, formatTime } from '../dom.js';
import { t, tMaybe, type TextKey } from '../i18n.js';
import type { Device, Period, Screen, StoredEvent } from '../types.js';
import { every, type View } from '../view.js';
import { diagnosticText } from './detectors.js';

const METRICS = ['flow', 'volume', 'occupancy', 'speed'] as const;
type Metric = (typeof METRICS)[number];

export const deviceView: View = (root, { gatewayId, deviceId }) => {
  const gw = gatewayId!;
  const dev = deviceId!;
  const base = `/api/v1/gateways/${encodeURIComponent(gw)}/devices/${encodeURIComponent(dev)}`;
  const config = h('div', { class: 'card', 'data-testid': 'device-config' }, t('common.loading'));
  const chartBox = h('div', { class: 'chart-box', 'data-testid': 'device-chart' });
  const totals = h('div', { class: 'small' });
  const readings = h('div', { class: 'table-wrap small' });
  const screenBox = h('section', { class: 'card', hidden: true, 'data-testid': 'device-screen' });
  const binding = h('div', { 'data-testid': 'device-binding' });
  const images = new Map<string, string>();
  const events = h('div', { class: 'table-wrap small', 'data-testid': 'device-events' });
  const metric = h('select', { name: 'metric' }, METRICS.map((m) => h('option', { value: m }, t(`metric.${m}` as TextKey))));
  const laneBoxes = h('span', { class: 'lanes' });
  let periods: Period[] = [];
  const hiddenLanes = new Set<number>();
  let isDetector = false;

  const drawChart = () => {
    const which = metric.value as Metric;
    const lanes = [...new Set(periods.map((p) => p.lane))].sort((a, b) => a - b);
    fill(laneBoxes, lanes.map((lane) =>
      h('label', null, h('input', { type: 'checkbox', checked: !hiddenLanes.has(lane), onChange: (e: Event) => { if ((e.target as HTMLInputElement).checked) hiddenLanes.delete(lane); else hiddenLanes.add(lane); drawChart(); } }), String(lane)),
    ));
    if (periods.length === 0) return fill(chartBox, h('p', { class: 'muted' }, t('device.noPeriods')));
    const series = lanes.filter((lane) => !hiddenLanes.has(lane)).map((lane) => ({
      name: t('device.lane', { lane }),
      colour: SERIES_COLOURS[(lane - 1) % SERIES_COLOURS.length]!,
      points: periods.filter((p) => p.lane === lane && p[which] !== null).map((p) => ({ t: p.periodStart, v: p[which] as number })),
    }));
    fill(chartBox, lineChart(series, { yLabel: t(`metric.${which}` as TextKey) }));
  };
  metric.addEventListener('change', drawChart);

  const chartSection = h('section', { class: 'card' },
    h('h2', null, t('device.chart')),
    h('div', { class: 'filters' }, h('label', null, t('device.metric'), metric), h('span', null, t('device.lanes'), ': '), laneBoxes),
    chartBox,
    h('h3', null, t('device.laneTotals')),
    totals,
  );

  fill(root,
    h('h1', null, t('device.title', { id: `${gw}/${dev}` })),
    h('div', { class: 'device-grid' },
      h('div', null, config, h('section', { class: 'card' }, h('h2', null, t('device.binding')), binding)),
      h('div', null, screenBox, chartSection, h('section', { class: 'card' }, h('h2', null, t('device.events')), events), h('section', { class: 'card' }, h('h2', null, t('device.readings')), readings)),
    ),
  );

  /** A guidance screen: what it displays (the cloud's image of the page) and its condition. */
  const drawScreen = async () => {
    const { screens } = await api<{ screens: Screen[] }>('/api/v1/screens');
    const screen = screens.find((sc) => sc.key === `${gw}/${dev}`);
    screenBox.hidden = !screen;
    if (!screen) return;
    const img = h('img', { class: 'shown big', alt: screen.displayed?.multi ?? '' });
    if (screen.displayed) loadImage(img, `/api/v1/messages/${encodeURIComponent(screen.displayed.id)}/pages/1.png?screen=${encodeURIComponent(screen.key)}&scale=3`, images);
    fill(screenBox,
      h('h2', null, t('screens.displayed')),
      screen.displayed ? [img, h('p', null, `${screen.displayed.multi} · CRC ${screen.displayed.crc} · ${t('screens.priorityShort')} ${screen.displayed.priority}`)] : h('p', { class: 'muted' }, t('common.none')),
      h('p', { class: 'small' }, `${t('screens.groups')}: ${screen.groups.join(', ') || '—'} · ${t('screens.segment')}: ${screen.segment ?? '—'}`),
      h('a', { href: '/screens', class: 'button' }, t('nav.screens')),
    );
  };

  /** The device's binding in the gateway's configuration: what the gateway reports, and what is desired when that differs. */
  const drawBinding = async () => {
    type Config = { version: number; config: { devices?: { id: string }[] } } | null;
    const shadow = await apiOptional<{ desired: Config; reported: Config; inSync: boolean }>(`/api/v1/gateways/${encodeURIComponent(gw)}/config`).catch(() => undefined);
    if (!shadow) return fill(binding, h('p', { class: 'muted' }, t('common.none')));
    const find = (c: Config) => c?.config.devices?.find((d) => d.id === dev);
    const reported = find(shadow.reported);
    const desired = find(shadow.desired);
    fill(binding,
      h('p', { class: 'small' }, `${t('device.reportedVersion')}: ${shadow.reported?.version ?? '—'} · ${t('device.desiredVersion')}: ${shadow.desired?.version ?? '—'}`),
      reported ? h('pre', { class: 'json' }, JSON.stringify(reported, null, 2)) : h('p', { class: 'muted' }, t('common.none')),
      desired && JSON.stringify(desired) !== JSON.stringify(reported) ? [h('h3', null, t('device.desired')), h('pre', { class: 'json' }, JSON.stringify(desired, null, 2))] : null,
    );
  };

  const load = async () => {
    try {
      const device = await api<Device>(base);
      isDetector = device.kind === 'loop-detector' || device.kind === 'camera';
      chartSection.hidden = !isDetector;
      fill(config,
        h('h2', null, t('device.config')),
        h('dl', { class: 'facts' },
          h('dt', null, t('common.name')), h('dd', null, device.name ?? device.deviceId),
          h('dt', null, t('common.kind')), h('dd', null, tMaybe(`kind.${device.kind}`, device.kind ?? '—')),
          h('dt', null, t('common.profile')), h('dd', null, device.profile ?? '—'),
          h('dt', null, t('device.endpoint')), h('dd', null, device.endpoint ?? '—'),
          h('dt', null, t('common.state')), h('dd', { 'data-testid': 'device-state' }, h('span', { class: `pill ${device.state === 'ok' ? 'ok' : 'bad'}` }, device.state ?? '—')),
          h('dt', null, t('device.lastError')), h('dd', null, device.lastError ? `${device.lastError.code}: ${device.lastError.message}` : '—'),
          h('dt', null, t('detectors.diagnostics')), h('dd', null, device.diagnostics.length === 0 ? '—' : h('ul', { class: 'plain' }, device.diagnostics.map((d) => h('li', null, diagnosticText(d))))),
          h('dt', null, t('device.updated')), h('dd', null, formatTime(device.updatedAt)),
          h('dt', null, t('place.location')), h('dd', { 'data-testid': 'device-location' },
            device.location ? `${device.location.lat.toFixed(6)}, ${device.location.lon.toFixed(6)}${device.location.bearing != null ? ` · ${device.location.bearing}°` : ''}${device.location.note ? ` · ${device.location.note}` : ''}` : t('place.notPlaced')),
        ),
        can('provision') ? h('a', { href: `/map?place=${encodeURIComponent(`${gw}/${dev}`)}`, class: 'button', 'data-testid': 'place-on-map' }, t('place.onMap')) : null,
        device.kind === 'camera' ? h('a', { href: '/cameras', class: 'button' }, t('nav.cameras')) : null,
      );
      void drawBinding();
      const [p, lt, rd, ev] = await Promise.all([
        isDetector ? api<{ periods: Period[] }>(`${base}/periods?limit=960`) : Promise.resolve({ periods: [] }),
        isDetector ? apiOptional<{ lanes: Record<string, number> }>(`${base}/lane-totals`) : Promise.resolve(undefined),
        api<{ readings: { ts: number; [f: string]: unknown }[] }>(`${base}/readings?limit=10`),
        api<{ events: StoredEvent[] }>(`/api/v1/events?gatewayId=${encodeURIComponent(gw)}&deviceId=${encodeURIComponent(dev)}&limit=20`),
      ]);
      periods = p.periods;
      if (device.kind === 'vms') await drawScreen();
      drawChart();
      fill(totals, lt ? Object.entries(lt.lanes).map(([lane, n]) => h('span', { class: 'pill' }, `${t('device.lane', { lane })}: ${n}`)) : '—');
      fill(readings, rd.readings.length === 0 ? h('p', { class: 'muted' }, t('common.none')) : h('table', null, h('tbody', null, rd.readings.map((r) => h('tr', null, h('td', { class: 'nowrap' }, formatTime(r.ts)), h('td', { class: 'json' }, JSON.stringify(r).slice(0, 240)))))));
      fill(events, ev.events.length === 0 ? h('p', { class: 'muted' }, t('common.none')) : h('table', null, h('tbody', null, ev.events.map((e) => h('tr', null, h('td', { class: 'nowrap' }, formatTime(e.ts)), h('td', null, e.type), h('td', { class: 'json' }, JSON.stringify(e.data).slice(0, 160)))))));
    } catch (err) {
      fill(config, h('p', { class: 'error' }, t('common.error', { message: (err as Error).message })));
    }
  };
  const stop = every(10_000, load);
  return () => {
    stop();
    for (const url of images.values()) URL.revokeObjectURL(url);
  };
};
