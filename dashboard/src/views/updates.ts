/**
 * Agent updates: the uploaded signed bundles, rollouts with each gateway's state, abort (admin), and
 * uploading a bundle file from the browser (admin; the cloud verifies its signature).
 */
import { api, can } from '../api.js';
import { h, fill, formatTime } from '../dom.js';
import { t, tMaybe } from '../i18n.js';
import { formatBytes } from '../logic/fleet.js';
import type { Rollout, RolloutDetail, UpdateBundle } from '../types.js';
import { every, type View } from '../view.js';

export const updatesView: View = (root) => {
  const isAdmin = can('admin');
  const message = h('p', { role: 'status', 'data-testid': 'updates-message' });
  const bundles = h('div', { class: 'table-wrap' }, t('common.loading'));
  const rollouts = h('div', { class: 'table-wrap' });
  const detail = h('div', { 'data-testid': 'rollout-detail' });
  let openRollout: string | undefined;
  const say = (text: string, isError = false) => {
    message.textContent = text;
    message.className = isError ? 'error' : 'small';
  };

  const abortReason = h('input', { name: 'abort-reason', size: 24, placeholder: t('updates.abortReason') });
  const showDetail = async (id: string) => {
    openRollout = id;
    const r = await api<RolloutDetail>(`/api/v1/rollouts/${encodeURIComponent(id)}`);
    fill(detail,
      h('h2', null, t('updates.rollout', { id: r.id, version: r.version })),
      h('p', { class: 'small' }, t('updates.rolloutLine', { state: tMaybe(`updates.state.${r.state}`, r.state), by: r.createdBy, at: formatTime(r.createdAt), max: r.maxConcurrent }), r.reason ? ` · ${r.reason}` : ''),
      isAdmin && r.state === 'running' ? h('div', { class: 'row' }, abortReason, h('button', {
        class: 'danger', type: 'button', 'data-testid': 'abort-rollout',
        onClick: async () => {
          try {
            await api(`/api/v1/rollouts/${encodeURIComponent(r.id)}/abort`, { method: 'POST', json: abortReason.value.trim() ? { reason: abortReason.value.trim() } : {} });
            say(t('updates.aborted', { id: r.id }));
            await load();
          } catch (err) {
            say(t('common.error', { message: (err as Error).message }), true);
          }
        },
      }, t('updates.abort'))) : null,
      h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'rollout-targets' },
        h('thead', null, h('tr', null, [t('common.gateway'), t('common.state'), t('updates.reason'), t('updates.started'), t('device.updated')].map((x) => h('th', null, x)))),
        h('tbody', null, r.targets.map((target) => h('tr', { 'data-gateway': target.gatewayId, 'data-state': target.state },
          h('td', null, h('a', { href: `/gateways/${encodeURIComponent(target.gatewayId)}` }, target.gatewayId)),
          h('td', null, h('span', { class: `pill ${target.state === 'healthy' ? 'ok' : target.state === 'failed' || target.state === 'rolled-back' ? 'bad' : 'off'}` }, tMaybe(`updates.state.${target.state}`, target.state))),
          h('td', { class: 'small' }, target.reason ?? ''),
          h('td', { class: 'nowrap' }, formatTime(target.startedAt)),
          h('td', { class: 'nowrap' }, formatTime(target.updatedAt)),
        ))),
      )),
    );
  };

  const load = async () => {
    const [{ updates }, { rollouts: all }] = await Promise.all([api<{ updates: UpdateBundle[] }>('/api/v1/updates'), api<{ rollouts: Rollout[] }>('/api/v1/rollouts')]);
    fill(bundles, updates.length === 0 ? h('p', null, t('updates.none')) : h('table', { 'data-testid': 'updates' },
      h('thead', null, h('tr', null, [t('updates.version'), 'ID', t('updates.size'), t('updates.key'), 'sha256', t('users.created')].map((x) => h('th', null, x)))),
      h('tbody', null, updates.map((u) => h('tr', { 'data-update': u.id },
        h('td', null, u.version), h('td', { class: 'small' }, u.id), h('td', null, formatBytes(u.size)), h('td', { class: 'small' }, u.keyId),
        h('td', { class: 'small', title: u.bundleSha256 }, u.bundleSha256.slice(0, 12)), h('td', { class: 'nowrap' }, `${formatTime(u.createdAt)} · ${u.createdBy}`),
      ))),
    ));
    fill(rollouts, all.length === 0 ? h('p', null, t('updates.noRollouts')) : h('table', { 'data-testid': 'rollouts' },
      h('thead', null, h('tr', null, ['ID', t('updates.version'), t('common.state'), t('updates.counts'), t('users.created'), ''].map((x) => h('th', null, x)))),
      h('tbody', null, all.map((r) => h('tr', { 'data-rollout': r.id, 'data-state': r.state },
        h('td', { class: 'small' }, r.id), h('td', null, r.version),
        h('td', null, h('span', { class: `pill ${r.state === 'completed' ? 'ok' : r.state === 'aborted' ? 'bad' : 'off'}` }, tMaybe(`updates.state.${r.state}`, r.state))),
        h('td', { class: 'small' }, Object.entries(r.counts).map(([state, n]) => `${tMaybe(`updates.state.${state}`, state)} ${n}`).join(' · ')),
        h('td', { class: 'nowrap' }, `${formatTime(r.createdAt)} · ${r.createdBy}`),
        h('td', null, h('button', { class: 'small', type: 'button', onClick: () => void showDetail(r.id).catch((err: Error) => say(err.message, true)) }, t('common.details'))),
      ))),
    ));
    if (openRollout) await showDetail(openRollout);
  };

  const file = h('input', { type: 'file', name: 'bundle', accept: '.qlb,application/octet-stream' });
  const upload = h('form', {
    class: 'filters card', 'data-testid': 'upload-form',
    onSubmit: async (e: Event) => {
      e.preventDefault();
      const chosen = file.files?.[0];
      if (!chosen) return say(t('updates.chooseFile'), true);
      try {
        const u = await api<UpdateBundle>('/api/v1/updates', { method: 'POST', body: chosen, headers: { 'content-type': 'application/octet-stream' } });
        say(t('updates.uploaded', { version: u.version, id: u.id }));
        await load();
      } catch (err) {
        say(t('common.error', { message: (err as Error).message }), true);
      }
    },
  }, h('label', null, t('updates.bundle'), file), h('button', { type: 'submit' }, t('updates.upload')));

  fill(root,
    h('h1', null, t('updates.title')),
    isAdmin ? upload : null,
    message,
    h('h2', null, t('updates.bundles')), bundles,
    h('h2', null, t('updates.rollouts')), rollouts,
    detail,
  );
  return every(5000, () => load().catch((err: Error) => say(t('common.error', { message: err.message }), true)));
};
