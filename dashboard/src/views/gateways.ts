/** Gateway health: the list (online, last seen, telemetry), and one gateway with its devices and streams. */
import { api, apiOptional } from '../api.js';
import { h, fill, formatNumber, formatTime } from '../dom.js';
import { t, tMaybe } from '../i18n.js';
import type { Device, Gateway } from '../types.js';
import { every, type View } from '../view.js';

function uptime(seconds: number | undefined): string {
  if (seconds === undefined) return '—';
  const hrs = Math.floor(seconds / 3600);
  const min = Math.floor((seconds % 3600) / 60);
  return hrs > 0 ? `${hrs} h ${min} min` : `${min} min ${seconds % 60} s`;
}

function onlinePill(online: boolean) {
  return h('span', { class: `pill ${online ? 'ok' : 'off'}` }, t(online ? 'common.online' : 'common.offline'));
}

function telemetryCells(gw: Gateway) {
  const tel = gw.telemetry ?? {};
  return [
    h('td', null, gw.agentVersion ?? '—'),
    h('td', null, uptime(tel.uptimeS)),
    h('td', null, tel.cpuPercent === undefined ? '—' : `${formatNumber(tel.cpuPercent)} %`),
    h('td', null, tel.memRssBytes === undefined ? '—' : `${formatNumber(tel.memRssBytes / 1048576, 0)} MB`),
    h('td', null, tel.outbox ? String(tel.outbox.depth) : '—'),
    h('td', null, tel.link?.ackRttMs === undefined || tel.link.ackRttMs === null ? '—' : `${tel.link.ackRttMs} ms`),
  ];
}

const TELEMETRY_HEADERS = ['gateways.version', 'gateways.uptime', 'gateways.cpu', 'gateways.memory', 'gateways.outbox', 'gateways.rtt'] as const;

export const gatewaysView: View = (root) => {
  const body = h('div', { class: 'table-wrap' }, t('common.loading'));
  fill(root, h('h1', null, t('gateways.title')), body);
  return every(5000, async () => {
    try {
      const { gateways } = await api<{ gateways: Gateway[] }>('/api/v1/gateways');
      fill(body, h('table', { 'data-testid': 'gateways' },
        h('thead', null, h('tr', null, h('th', null, t('common.gateway')), h('th', null, t('common.name')), h('th', null, t('common.state')), h('th', null, t('gateways.lastSeen')), TELEMETRY_HEADERS.map((k) => h('th', null, t(k))))),
        h('tbody', null, gateways.map((gw) => h('tr', { 'data-gateway': gw.id },
          h('td', null, h('a', { href: `/gateways/${encodeURIComponent(gw.id)}` }, gw.id)),
          h('td', null, gw.name ?? '—'),
          h('td', null, onlinePill(gw.online)),
          h('td', { class: 'nowrap' }, formatTime(gw.lastSeen)),
          telemetryCells(gw),
        ))),
      ));
    } catch (err) {
      fill(body, h('p', { class: 'error' }, t('common.error', { message: (err as Error).message })));
    }
  });
};

export const gatewayView: View = (root, { gatewayId }) => {
  const id = gatewayId!;
  const body = h('div', null, t('common.loading'));
  fill(root, h('h1', null, `${t('kind.gateway')} ${id}`), body);
  return every(5000, async () => {
    try {
      const [gw, { devices }, fleet] = await Promise.all([
        api<Gateway>(`/api/v1/gateways/${encodeURIComponent(id)}`),
        api<{ devices: Device[] }>(`/api/v1/devices?gatewayId=${encodeURIComponent(id)}`),
        // Placement (site, grid cell, location) where the cloud keeps a fleet.
        apiOptional<{ site: string | null; siteName: string | null; gridCell: string | null; location: { lat: number; lon: number } | null }>(`/api/v1/gateways/${encodeURIComponent(id)}/fleet`).catch(() => undefined),
      ]);
      fill(body,
        h('div', { class: 'table-wrap' }, h('table', null,
          h('thead', null, h('tr', null, h('th', null, t('common.name')), h('th', null, t('common.state')), h('th', null, t('gateways.lastSeen')), TELEMETRY_HEADERS.map((k) => h('th', null, t(k))))),
          h('tbody', null, h('tr', null, h('td', null, gw.name ?? '—'), h('td', null, onlinePill(gw.online)), h('td', null, formatTime(gw.lastSeen)), telemetryCells(gw))),
        )),
        fleet ? h('p', { class: 'small', 'data-testid': 'placement' }, `${t('gateways.site')}: ${fleet.siteName ?? fleet.site ?? '—'} · ${t('gateways.gridCell')}: ${fleet.gridCell ?? '—'} · ${fleet.location ? `${fleet.location.lat.toFixed(5)}, ${fleet.location.lon.toFixed(5)}` : '—'}`) : null,
        h('h2', null, t('gateways.devices')),
        h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'gateway-devices' },
          h('thead', null, h('tr', null, ['common.device', 'common.kind', 'common.profile', 'device.endpoint', 'common.state', 'device.updated'].map((k) => h('th', null, t(k as 'common.state'))))),
          h('tbody', null, devices.map((d) => h('tr', { class: d.removed ? 'muted' : undefined },
            h('td', null, h('a', { href: `/gateways/${encodeURIComponent(id)}/devices/${encodeURIComponent(d.deviceId)}` }, d.name ?? d.deviceId)),
            h('td', null, tMaybe(`kind.${d.kind}`, d.kind ?? '—')),
            h('td', null, d.profile ?? '—'),
            h('td', { class: 'small' }, d.endpoint ?? '—'),
            h('td', null, h('span', { class: `pill ${d.state === 'ok' ? 'ok' : 'bad'}` }, d.state ?? '—'), d.lastError ? h('div', { class: 'small' }, d.lastError.message) : null),
            h('td', { class: 'nowrap' }, formatTime(d.updatedAt)),
          ))),
        )),
        h('h2', null, t('gateways.streams')),
        h('ul', { class: 'plain small' }, (gw.streams ?? []).map((st) => h('li', null, JSON.stringify(st)))),
      );
    } catch (err) {
      fill(body, h('p', { class: 'error' }, t('common.error', { message: (err as Error).message })));
    }
  });
};
