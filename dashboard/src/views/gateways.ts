/**
 * The fleet: gateways filtered by site, grid cell, status, device kind and text, with their telemetry;
 * one gateway with its placement, telemetry, devices, streams, the admin's revoke and rotate actions,
 * and its configuration (desired vs reported, views/gateway-config.ts).
 */
import { api, apiOptional, can, ApiProblem } from '../api.js';
import { h, fill, formatNumber, formatTime } from '../dom.js';
import { t, tMaybe, type TextKey } from '../i18n.js';
import { filtersFromQuery, formatBytes, formatDisk, formatUptime, gatewayListPath, GATEWAY_STATUSES, type GatewayFilters } from '../logic/fleet.js';
import type { Device, FleetGateway, GatewayFleet, GridCell, Site } from '../types.js';
import { every, type View } from '../view.js';
import { configSection } from './gateway-config.js';

const DEVICE_KINDS = ['loop-detector', 'vms', 'camera'] as const;

function statusOf(gw: FleetGateway): 'online' | 'offline' | 'revoked' {
  if (gw.revoked) return 'revoked';
  return gw.online ? 'online' : 'offline';
}

function statusPill(gw: FleetGateway) {
  const status = statusOf(gw);
  return h('span', { class: `pill ${status === 'online' ? 'ok' : status === 'revoked' ? 'bad' : 'off'}`, 'data-status': status }, t(`fleet.status.${status}`));
}

function telemetryCells(gw: FleetGateway) {
  const tel = gw.telemetry ?? {};
  return [
    h('td', null, gw.agentVersion ?? '—'),
    h('td', { class: 'nowrap' }, formatUptime(tel.uptimeS)),
    h('td', { class: 'nowrap' }, tel.cpuPercent === undefined ? '—' : `${formatNumber(tel.cpuPercent)} %`),
    h('td', { class: 'nowrap' }, formatBytes(tel.memRssBytes)),
    h('td', { class: 'nowrap' }, formatDisk(tel.disk)),
    h('td', null, tel.outbox ? String(tel.outbox.depth) : '—'),
    h('td', { class: 'nowrap' }, tel.link?.ackRttMs === undefined || tel.link.ackRttMs === null ? '—' : `${formatNumber(tel.link.ackRttMs, 0)} ms`),
  ];
}

const TELEMETRY_HEADERS: TextKey[] = ['gateways.version', 'gateways.uptime', 'gateways.cpu', 'gateways.memory', 'gateways.disk', 'gateways.outbox', 'gateways.rtt'];

function select(name: string, options: { value: string; label: string }[], selected = ''): HTMLSelectElement {
  const el = h('select', { name }, h('option', { value: '' }, t('common.all')), options.map((o) => h('option', { value: o.value }, o.label)));
  el.value = selected;
  return el;
}

export const gatewaysView: View = (root) => {
  const filters: GatewayFilters = filtersFromQuery(location.search);
  const form = h('form', { class: 'filters', 'data-testid': 'gateway-filters' });
  const body = h('div', { class: 'table-wrap' }, t('common.loading'));
  fill(root, h('h1', null, t('gateways.title')), form, body);
  let sites: Site[] = [];
  let cells: GridCell[] = [];

  const drawFilters = () => {
    const controls = {
      site: select('site', sites.map((s) => ({ value: s.id, label: s.name })), filters.site),
      gridCell: select('gridCell', cells.map((c) => ({ value: c.id, label: c.name })), filters.gridCell),
      status: select('status', GATEWAY_STATUSES.map((s) => ({ value: s, label: t(`fleet.status.${s}`) })), filters.status),
      deviceKind: select('deviceKind', DEVICE_KINDS.map((k) => ({ value: k, label: tMaybe(`kind.${k}`, k) })), filters.deviceKind),
      q: h('input', { name: 'q', placeholder: t('fleet.search'), value: filters.q ?? '', size: 16 }),
    };
    const apply = () => {
      for (const [key, el] of Object.entries(controls)) filters[key as keyof GatewayFilters] = el.value;
      void load();
    };
    for (const el of Object.values(controls)) el.addEventListener('change', apply);
    fill(form,
      h('label', null, t('gateways.site'), controls.site),
      h('label', null, t('gateways.gridCell'), controls.gridCell),
      h('label', null, t('common.state'), controls.status),
      h('label', null, t('common.kind'), controls.deviceKind),
      h('label', null, t('fleet.text'), controls.q),
      h('button', { type: 'submit' }, t('common.apply')),
    );
    form.onsubmit = (event) => {
      event.preventDefault();
      apply();
    };
  };

  const load = async () => {
    try {
      const { gateways } = await api<{ gateways: FleetGateway[] }>(gatewayListPath(filters));
      fill(body, gateways.length === 0 ? h('p', { 'data-testid': 'gateways-empty' }, t('fleet.noMatch')) : h('table', { 'data-testid': 'gateways' },
        h('thead', null, h('tr', null, h('th', null, t('common.gateway')), h('th', null, t('common.name')), h('th', null, t('common.state')), h('th', null, t('gateways.site')), h('th', null, t('gateways.gridCell')), h('th', null, t('gateways.lastSeen')), TELEMETRY_HEADERS.map((k) => h('th', null, t(k))))),
        h('tbody', null, gateways.map((gw) => h('tr', { 'data-gateway': gw.id, 'data-status': statusOf(gw) },
          h('td', { class: 'nowrap' }, h('a', { href: `/gateways/${encodeURIComponent(gw.id)}` }, gw.id)),
          h('td', null, gw.name ?? '—'),
          h('td', null, statusPill(gw)),
          h('td', null, gw.siteName ?? gw.site ?? '—'),
          h('td', null, gw.gridCell ?? '—'),
          h('td', { class: 'nowrap' }, formatTime(gw.lastSeen)),
          telemetryCells(gw),
        ))),
      ));
    } catch (err) {
      fill(body, h('p', { class: 'error' }, t('common.error', { message: (err as Error).message })));
    }
  };

  drawFilters();
  void Promise.all([
    apiOptional<{ sites: Site[] }>('/api/v1/sites').catch(() => undefined),
    apiOptional<{ gridCells: GridCell[] }>('/api/v1/grid-cells').catch(() => undefined),
  ]).then(([s, c]) => {
    sites = s?.sites ?? [];
    cells = c?.gridCells ?? [];
    drawFilters();
  });
  return every(5000, load);
};

/** Placement (technician, admin) and the admin's revoke and rotate, with their outcome. */
function actionsPanel(id: string, refresh: () => void): { el: HTMLElement; update(fleet: GatewayFleet | undefined, sites: Site[]): void; say(text: string, isError?: boolean): void } {
  const el = h('div', { class: 'card', 'data-testid': 'gateway-actions' });
  const result = h('p', { class: 'small', 'data-testid': 'action-result', role: 'status' });
  const show = (text: string, isError = false) => {
    result.textContent = text;
    result.classList.toggle('error', isError);
  };
  const run = async (what: () => Promise<string>) => {
    try {
      show(await what());
      refresh();
    } catch (err) {
      show(t('common.error', { message: (err as Error).message }), true);
    }
  };
  const siteSelect = h('select', { name: 'placement-site' });
  const reason = h('input', { name: 'revoke-reason', placeholder: t('fleet.revokeReason'), size: 28, maxlength: 500 });
  const confirmRevoke = h('button', {
    class: 'danger', type: 'button', 'data-testid': 'revoke-confirm', hidden: true,
    onClick: () => run(async () => {
      if (!reason.value.trim()) throw new Error(t('fleet.revokeNeedsReason'));
      await api(`/api/v1/gateways/${encodeURIComponent(id)}/revoke`, { method: 'POST', json: { reason: reason.value.trim() } });
      confirmRevoke.hidden = true;
      return t('fleet.revoked', { id });
    }),
  }, t('fleet.revokeConfirm'));
  const revoke = h('button', { class: 'danger', type: 'button', 'data-testid': 'revoke', onClick: () => { confirmRevoke.hidden = false; reason.focus(); show(t('fleet.revokeWarning', { id })); } }, t('fleet.revoke'));
  const rotate = h('button', {
    type: 'button', 'data-testid': 'rotate',
    onClick: () => run(async () => (await api<{ message: string }>(`/api/v1/gateways/${encodeURIComponent(id)}/rotate-credentials`, { method: 'POST' })).message),
  }, t('fleet.rotate'));
  const place = h('button', {
    type: 'button', 'data-testid': 'placement-save',
    onClick: () => run(async () => {
      await api(`/api/v1/gateways/${encodeURIComponent(id)}/placement`, { method: 'PUT', json: { site: siteSelect.value || null } });
      return t('fleet.placed');
    }),
  }, t('common.save'));
  let drawn = false;
  return {
    el,
    say: show,
    update(fleet, sites) {
      if (!can('provision')) {
        el.hidden = true;
        return;
      }
      // Drawn once: a refresh must not reset what the user is choosing or typing.
      if (drawn) {
        revoke.disabled = Boolean(fleet?.revoked);
        return;
      }
      drawn = true;
      fill(siteSelect, h('option', { value: '' }, t('common.none')), sites.map((s) => h('option', { value: s.id }, `${s.name} (${s.id})`)));
      siteSelect.value = fleet?.site ?? '';
      revoke.disabled = Boolean(fleet?.revoked);
      fill(el,
        h('h2', null, t('fleet.actions')),
        h('div', { class: 'row' }, h('label', null, t('gateways.site'), siteSelect), place),
        can('admin') ? h('div', { class: 'row' }, revoke, reason, confirmRevoke, rotate) : null,
        result,
      );
    },
  };
}

export const gatewayView: View = (root, { gatewayId }) => {
  const id = gatewayId!;
  const summary = h('div', null, t('common.loading'));
  const devicesBox = h('div');
  const actions = actionsPanel(id, () => void load());
  const config = configSection(id);
  fill(root, h('h1', null, `${t('kind.gateway')} ${id}`), summary, actions.el, config.el, devicesBox);
  let sites: Site[] | undefined;
  /** A rotation the gateway never confirmed blocks new ones; cancelling keeps its current password. */
  const cancelRotation = async () => {
    try {
      await api(`/api/v1/gateways/${encodeURIComponent(id)}/rotate-credentials`, { method: 'DELETE' });
      actions.say(t('fleet.rotationCancelled'));
    } catch (err) {
      actions.say(t('common.error', { message: (err as Error).message }), true);
    }
    await load();
  };
  const load = async () => {
    try {
      const [gw, { devices }, fleet] = await Promise.all([
        api<FleetGateway>(`/api/v1/gateways/${encodeURIComponent(id)}`),
        api<{ devices: Device[] }>(`/api/v1/devices?gatewayId=${encodeURIComponent(id)}`),
        apiOptional<GatewayFleet>(`/api/v1/gateways/${encodeURIComponent(id)}/fleet`).catch(() => undefined),
      ]);
      sites ??= (await apiOptional<{ sites: Site[] }>('/api/v1/sites').catch(() => undefined))?.sites ?? [];
      const merged: FleetGateway = { ...gw, ...fleet };
      fill(summary,
        h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'gateway-summary' },
          h('thead', null, h('tr', null, h('th', null, t('common.name')), h('th', null, t('common.state')), h('th', null, t('gateways.lastSeen')), TELEMETRY_HEADERS.map((k) => h('th', null, t(k))))),
          h('tbody', null, h('tr', null, h('td', null, gw.name ?? '—'), h('td', null, statusPill(merged)), h('td', { class: 'nowrap' }, formatTime(gw.lastSeen)), telemetryCells(gw))),
        )),
        fleet ? h('p', { class: 'small', 'data-testid': 'placement' },
          `${t('gateways.site')}: ${fleet.siteName ?? fleet.site ?? '—'} · ${t('gateways.gridCell')}: ${fleet.gridCell ?? '—'} · ${fleet.location ? `${fleet.location.lat.toFixed(5)}, ${fleet.location.lon.toFixed(5)}` : '—'}`,
          fleet.enrolledAt ? ` · ${t('fleet.enrolledAt')}: ${formatTime(fleet.enrolledAt)}` : '',
          fleet.rotationPendingSince ? h('span', { 'data-testid': 'rotation-pending' }, ` · ${t('fleet.rotationPending', { since: formatTime(fleet.rotationPendingSince) })} `,
            can('admin') ? h('button', { class: 'small', type: 'button', 'data-testid': 'cancel-rotation', onClick: () => void cancelRotation() }, t('fleet.cancelRotation')) : null) : '',
          fleet.rotatedAt ? ` · ${t('fleet.rotatedAt')}: ${formatTime(fleet.rotatedAt)}` : '',
        ) : null,
        fleet?.revoked ? h('p', { class: 'error', 'data-testid': 'revoked' }, t('fleet.revokedBy', { by: fleet.revoked.by, at: formatTime(fleet.revoked.at), reason: fleet.revoked.reason })) : null,
      );
      actions.update(fleet, sites);
      fill(devicesBox,
        h('h2', null, t('gateways.devices')),
        h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'gateway-devices' },
          h('thead', null, h('tr', null, (['common.device', 'common.kind', 'common.profile', 'device.endpoint', 'common.state', 'device.updated'] as const).map((k) => h('th', null, t(k))))),
          h('tbody', null, devices.map((d) => h('tr', { class: d.removed ? 'muted' : undefined, 'data-device': d.deviceId },
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
      const message = err instanceof ApiProblem && err.status === 404 ? t('fleet.unknownGateway', { id }) : t('common.error', { message: (err as Error).message });
      fill(summary, h('p', { class: 'error' }, message));
    }
  };
  const stop = every(5000, load);
  return () => {
    stop();
    config.dispose();
  };
};
