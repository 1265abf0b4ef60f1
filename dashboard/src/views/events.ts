/** Live events: stored events with filters (refreshed), and the WebSocket push as it arrives. */
import { api, live, type LiveEvent } from '../api.js';
import { h, fill, formatClock, formatTime } from '../dom.js';
import { t } from '../i18n.js';
import type { StoredEvent } from '../types.js';
import { every, type View } from '../view.js';

const LIVE_TOPICS = ['dispatch', 'message', 'screen', 'audit', 'grade', 'proposal', 'video', 'camera', 'config'];
const MAX_LIVE = 200;

/** One line about a live event, for the feed. */
export function describeLive(event: LiveEvent): string {
  const e = event as Record<string, any>;
  switch (event.type) {
    case 'dispatch': return `${e.dispatch.gatewayId}/${e.dispatch.deviceId} ${e.dispatch.state}${e.dispatch.reason ? ` (${e.dispatch.reason})` : ''} · ${e.dispatch.messageId}`;
    case 'message': return `${e.message.id} "${e.message.multi}" P${e.message.priority}${e.message.cancelledAt ? ' cancelled' : ''}`;
    case 'screen': return `${e.screen.key ?? `${e.screen.gatewayId}/${e.screen.deviceId}`} ${e.screen.state ?? ''}`;
    case 'audit': return `${e.entry.actor} ${e.entry.action} ${e.entry.subject}`;
    case 'video': return `${e.event.gatewayId}/${e.event.deviceId} ${e.event.type} ${e.event.data?.label ?? e.event.data?.alert ?? ''}`;
    case 'camera': return `${e.camera.gatewayId}/${e.camera.deviceId} ${e.camera.pipeline?.state ?? e.camera.state ?? ''}`;
    case 'config': return `${e.gateway} ${e.config?.inSync ? 'in sync' : 'not in sync'} · desired v${e.config?.desired?.version ?? '—'} ${e.config?.desired?.outcome ?? ''} · reported v${e.config?.reported?.version ?? '—'}`;
    case 'grade': return `${e.segmentId ?? e.segment ?? ''} ${e.to?.nameZh ?? e.grade?.nameZh ?? ''}`;
    default: return JSON.stringify(event).slice(0, 160);
  }
}

export const eventsView: View = (root) => {
  const gateway = h('input', { name: 'gatewayId', placeholder: t('common.gateway'), size: 12 });
  const device = h('input', { name: 'deviceId', placeholder: t('common.device'), size: 10 });
  const type = h('input', { name: 'type', placeholder: t('events.filterType'), size: 12, list: 'event-types' });
  const limit = h('input', { name: 'limit', type: 'number', min: 1, max: 1000, value: 50, style: 'width:5em' });
  const auto = h('input', { type: 'checkbox', checked: true });
  const table = h('div', { class: 'table-wrap', 'data-testid': 'stored-events' });
  const types = h('datalist', { id: 'event-types' }, ['counts', 'traffic.period', 'diagnostic', 'device.status', 'video.crossing', 'video.alert', 'camera.pipeline'].map((v) => h('option', { value: v })));
  const topicBoxes = LIVE_TOPICS.map((topic) => h('input', { type: 'checkbox', checked: true, value: topic }));
  const feed = h('ol', { class: 'feed', 'data-testid': 'live-feed' });

  const load = async () => {
    const q = new URLSearchParams();
    if (gateway.value.trim()) q.set('gatewayId', gateway.value.trim());
    if (device.value.trim()) q.set('deviceId', device.value.trim());
    if (type.value.trim()) q.set('type', type.value.trim());
    q.set('limit', limit.value || '50');
    try {
      const { events } = await api<{ events: StoredEvent[] }>(`/api/v1/events?${q}`);
      fill(
        table,
        events.length === 0
          ? h('p', { class: 'muted' }, t('events.empty'))
          : h('table', null,
              h('thead', null, h('tr', null, h('th', null, t('common.time')), h('th', null, t('common.gateway')), h('th', null, t('common.device')), h('th', null, t('common.type')), h('th', null, t('common.details')))),
              h('tbody', null, events.map((e) => h('tr', null,
                h('td', { class: 'nowrap' }, formatTime(e.ts)),
                h('td', null, e.gatewayId),
                h('td', null, e.device ? h('a', { href: `/gateways/${encodeURIComponent(e.gatewayId)}/devices/${encodeURIComponent(e.device)}` }, e.device) : '—'),
                h('td', null, e.type),
                h('td', { class: 'json' }, JSON.stringify(e.data).slice(0, 200)),
              ))),
            ),
      );
    } catch (err) {
      fill(table, h('p', { class: 'error' }, t('common.error', { message: (err as Error).message })));
    }
  };

  fill(
    root,
    h('h1', null, t('events.title')),
    h('div', { class: 'split' },
      h('section', null,
        h('h2', null, t('events.stored')),
        h('form', { class: 'filters', onSubmit: (e: Event) => { e.preventDefault(); void load(); } },
          gateway, device, type, types, h('label', null, t('common.limit'), limit), h('button', { type: 'submit' }, t('common.apply')), h('label', null, auto, t('events.autoRefresh')),
        ),
        table,
      ),
      h('section', null,
        h('h2', null, t('events.live')),
        h('div', { class: 'filters' }, t('events.topics'), ': ', topicBoxes.map((box) => h('label', null, box, box.value))),
        feed,
      ),
    ),
  );

  const stopPolling = every(5000, async () => {
    if (auto.checked) await load();
  });
  const stopLive = live.subscribe((event) => {
    if (!topicBoxes.some((box) => box.checked && box.value === event.type)) return;
    // The gateway and device filters apply to the push too (as text: every event names its gateway and device).
    const text = JSON.stringify(event);
    if ((gateway.value.trim() && !text.includes(gateway.value.trim())) || (device.value.trim() && !text.includes(device.value.trim()))) return;
    feed.prepend(h('li', { 'data-type': event.type }, h('span', { class: 'muted' }, formatClock(Date.now())), ' ', h('span', { class: `tag tag-${event.type}` }, event.type), ' ', describeLive(event)));
    while (feed.childElementCount > MAX_LIVE) feed.lastElementChild?.remove();
  });
  return () => {
    stopPolling();
    stopLive();
  };
};
