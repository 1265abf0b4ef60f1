/** Cameras: each camera's pipeline state, and the latest video events with snapshot thumbnails and boxes. */
import { api, live, loadImage } from '../api.js';
import { h, s, fill, formatNumber, formatTime } from '../dom.js';
import { t } from '../i18n.js';
import type { Camera, VideoEvent } from '../types.js';
import { every, type View } from '../view.js';

const LIMIT = 24;

/** The event's box over its picture, in the snapshot's pixel space (the picture scales, the box with it). */
function boxOverlay(event: VideoEvent): SVGSVGElement | null {
  const box = event.data.box;
  const snap = event.data.snapshot as { width?: number; height?: number } | undefined;
  if (!box || box.length !== 4 || !snap?.width || !snap.height) return null;
  const [x1, y1, x2, y2] = box as [number, number, number, number];
  return s('svg', { class: 'box-overlay', viewBox: `0 0 ${snap.width} ${snap.height}`, preserveAspectRatio: 'none' },
    s('rect', { x: x1, y: y1, width: x2 - x1, height: y2 - y1, fill: 'none', stroke: '#ffd400', 'stroke-width': 2, 'vector-effect': 'non-scaling-stroke' }));
}

function eventCaption(e: VideoEvent): string {
  const d = e.data;
  const parts = [e.type.replace('video.', ''), d.label ?? d.kind, d.lane !== undefined ? `${t('cameras.lane')} ${d.lane}` : undefined, d.direction, d.alert as string | undefined, d.score !== undefined ? formatNumber(d.score, 2) : undefined];
  return parts.filter(Boolean).join(' · ');
}

export const camerasView: View = (root) => {
  const list = h('div', { class: 'table-wrap' }, t('common.loading'));
  const grid = h('div', { class: 'thumb-grid', 'data-testid': 'video-events' });
  const modal = h('div', { class: 'modal', hidden: true });
  const objectUrls: string[] = [];
  fill(root, h('h1', null, t('cameras.title')), list, h('h2', null, t('cameras.latest')), grid, modal);

  const openSnapshot = (e: VideoEvent) => {
    if (!e.snapshotUrl) return;
    const img = h('img', { alt: t('cameras.snapshot'), 'data-testid': 'snapshot' });
    loadImage(img, e.snapshotUrl);
    fill(modal, h('div', { class: 'modal-card' },
      h('div', { class: 'row' }, h('strong', null, `${e.gatewayId}/${e.deviceId} · ${formatTime(e.ts)}`), h('span', { class: 'spacer' }), h('button', { onClick: () => { modal.hidden = true; } }, t('cameras.close'))),
      h('div', { class: 'pic' }, img, boxOverlay(e)),
      h('p', null, eventCaption(e)),
    ));
    modal.hidden = false;
  };

  const tile = (e: VideoEvent) => {
    const img = h('img', { alt: e.type, loading: 'lazy' });
    if (e.thumbnailUrl) loadImage(img, e.thumbnailUrl);
    return h('figure', { class: 'thumb', 'data-event': e.id, onClick: () => openSnapshot(e) },
      h('div', { class: 'pic' }, e.thumbnailUrl ? img : h('div', { class: 'no-pic' }, e.type), e.thumbnailUrl ? boxOverlay(e) : null),
      h('figcaption', null, h('small', null, `${e.deviceId} ${formatTime(e.ts)}`), h('br'), eventCaption(e)),
    );
  };

  const loadCameras = async () => {
    try {
      const { cameras } = await api<{ cameras: Camera[] }>('/api/v1/cameras');
      fill(list, cameras.length === 0 ? h('p', { class: 'muted' }, t('common.none')) : h('table', { 'data-testid': 'cameras' },
        h('thead', null, h('tr', null, ['common.gateway', 'common.device', 'common.profile', 'common.state', 'cameras.pipeline', 'cameras.fps', 'gateways.lastSeen'].map((k) => h('th', null, t(k as 'common.state'))))),
        h('tbody', null, cameras.map((c) => h('tr', { 'data-device': `${c.gatewayId}/${c.deviceId}` },
          h('td', null, c.gatewayId),
          h('td', null, h('a', { href: `/gateways/${encodeURIComponent(c.gatewayId)}/devices/${encodeURIComponent(c.deviceId)}` }, c.name ?? c.deviceId)),
          h('td', { class: 'small' }, [c.camera?.manufacturer, c.camera?.model, c.camera?.firmware].filter(Boolean).join(' ') || '—'),
          h('td', null, h('span', { class: `pill ${c.healthy ? 'ok' : 'bad'}` }, c.state ?? '—')),
          h('td', null, c.pipeline ? `${c.pipeline.state}${c.pipeline.reason ? `: ${c.pipeline.reason}` : ''}` : '—'),
          h('td', null, formatNumber(c.pipeline?.analysedFps ?? null)),
          h('td', { class: 'nowrap' }, formatTime(c.lastEventAt)),
        ))),
      ));
    } catch (err) {
      fill(list, h('p', { class: 'error' }, t('common.error', { message: (err as Error).message })));
    }
  };
  const loadEvents = async () => {
    try {
      const { events } = await api<{ events: VideoEvent[] }>(`/api/v1/video-events?limit=${LIMIT}`);
      const withPictures = events.filter((e) => e.type === 'video.crossing' || e.type === 'video.alert');
      fill(grid, withPictures.length === 0 ? h('p', { class: 'muted' }, t('cameras.noEvents')) : withPictures.map(tile));
    } catch (err) {
      fill(grid, h('p', { class: 'error' }, t('common.error', { message: (err as Error).message })));
    }
  };
  const stopCameras = every(10_000, loadCameras);
  void loadEvents();
  const stopLive = live.subscribe((event) => {
    if (event.type === 'camera') void loadCameras();
    if (event.type !== 'video') return;
    const e = event.event as VideoEvent;
    if (e.type !== 'video.crossing' && e.type !== 'video.alert') return;
    grid.querySelector('p.muted')?.remove();
    grid.prepend(tile(e));
    while (grid.childElementCount > LIMIT) {
      const last = grid.lastElementChild as HTMLElement | null;
      const img = last?.querySelector('img');
      if (img?.src.startsWith('blob:')) URL.revokeObjectURL(img.src);
      last?.remove();
    }
  });
  return () => {
    stopCameras();
    stopLive();
    for (const url of objectUrls) URL.revokeObjectURL(url);
    grid.querySelectorAll('img').forEach((img) => img.src.startsWith('blob:') && URL.revokeObjectURL(img.src));
  };
};
