/** Detector health: every detector's device state and active diagnostics, with a link to its chart. */
import { api } from '../api.js';
import { h, fill, formatTime } from '../dom.js';
import { t, tMaybe } from '../i18n.js';
import type { DetectorHealth, Diagnostic } from '../types.js';
import { every, type View } from '../view.js';

export function diagnosticText(d: Diagnostic): string {
  return `${d.condition}${d.lane !== null ? ` (${t('device.lane', { lane: d.lane })})` : ''} ${formatTime(d.since)}${d.detail ? `: ${d.detail}` : ''}`;
}

export const detectorsView: View = (root) => {
  const body = h('div', { class: 'table-wrap' }, t('common.loading'));
  fill(root, h('h1', null, t('detectors.title')), body);
  const load = async () => {
    try {
      const { detectors } = await api<{ detectors: DetectorHealth[] }>('/api/v1/detector-health');
      fill(
        body,
        detectors.length === 0
          ? h('p', { class: 'muted' }, t('common.none'))
          : h('table', { 'data-testid': 'detector-health' },
              h('thead', null, h('tr', null, ['common.gateway', 'common.device', 'common.kind', 'common.state', 'detectors.diagnostics', 'detectors.lastPeriod', 'detectors.openChart'].map((k) => h('th', null, t(k as 'common.state'))))),
              h('tbody', null, detectors.map((d) => {
                const href = `/gateways/${encodeURIComponent(d.gatewayId)}/devices/${encodeURIComponent(d.deviceId)}`;
                return h('tr', { 'data-device': `${d.gatewayId}/${d.deviceId}`, class: d.healthy ? undefined : 'bad' },
                  h('td', null, h('a', { href: `/gateways/${encodeURIComponent(d.gatewayId)}` }, d.gatewayId)),
                  h('td', null, h('a', { href }, d.name ?? d.deviceId)),
                  h('td', null, tMaybe(`kind.${d.kind}`, d.kind ?? '—')),
                  h('td', null, h('span', { class: `pill ${d.healthy ? 'ok' : 'bad'}` }, d.healthy ? t('detectors.healthy') : `${t('detectors.unhealthy')} · ${d.state ?? ''}`), d.lastError ? h('div', { class: 'small' }, d.lastError.message) : null),
                  h('td', null, d.diagnostics.length === 0 ? '—' : h('ul', { class: 'plain' }, d.diagnostics.map((x) => h('li', null, diagnosticText(x))))),
                  h('td', { class: 'nowrap' }, formatTime(d.lastPeriodStart)),
                  h('td', null, h('a', { href, class: 'button', 'data-chart': `${d.gatewayId}/${d.deviceId}` }, t('detectors.openChart'))),
                );
              })),
            ),
      );
    } catch (err) {
      fill(body, h('p', { class: 'error' }, t('common.error', { message: (err as Error).message })));
    }
  };
  return every(5000, load);
};
