/**
 * Agent updates: the uploaded signed bundles, rollouts with each gateway's state, abort (admin), and
 * uploading a bundle file from the browser (admin; the cloud verifies its signature).
 */
import { api, apiOptional, can } from '../api.js';
import { h, fill, formatTime } from '../dom.js';
import { t, tMaybe } from '../i18n.js';
import { formatBytes } from '../logic/fleet.js';
import { rolloutBody, type RolloutForm } from '../logic/rollout.js';
import type { Gateway, Rollout, RolloutDetail, UpdateBundle } from '../types.js';
import type { Site } from '../logic/geo.js';
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

  const follow = h('input', { type: 'checkbox', name: 'follow-rollout', checked: true });
  const followBox = h('div', { class: 'row small' },
    h('label', null, follow, t('rollout.live')),
    h('button', { type: 'button', class: 'small', 'data-testid': 'refresh-rollout', onClick: () => void (openRollout ? showDetail(openRollout) : load()).catch((err: Error) => say(err.message, true)) }, t('rollout.refresh')),
  );
  const abortReason = h('input', { name: 'abort-reason', size: 24, placeholder: t('updates.abortReason') });
  const showDetail = async (id: string) => {
    openRollout = id;
    const r = await api<RolloutDetail>(`/api/v1/rollouts/${encodeURIComponent(id)}`);
    fill(detail,
      h('h2', { 'data-rollout-state': r.state }, t('updates.rollout', { id: r.id, version: r.version })),
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

  const start = rolloutForm((id) => {
    say(t('rollout.started', { id }));
    openRollout = id;
    void load();
  }, say);

  const load = async () => {
    const [{ updates }, { rollouts: all }] = await Promise.all([api<{ updates: UpdateBundle[] }>('/api/v1/updates'), api<{ rollouts: Rollout[] }>('/api/v1/rollouts')]);
    if (isAdmin) await start.update(updates);
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
    isAdmin ? start.el : null,
    message,
    h('h2', null, t('updates.bundles')), bundles,
    h('h2', null, t('updates.rollouts')), rollouts,
    followBox,
    detail,
  );
  const stopPolling = every(5000, () => load().catch((err: Error) => say(t('common.error', { message: err.message }), true)));
  // Following a rollout: its gateways' states every 2 s while it runs (the page's own refresh is every 5 s).
  const stopFollowing = every(2000, async () => {
    if (follow.checked && openRollout && detail.querySelector('[data-rollout-state="running"]')) await showDetail(openRollout);
  });
  return () => {
    stopPolling();
    stopFollowing();
  };
};

/** Starting a rollout (admin): bundle, targets (gateways, a site or all), pacing and abort threshold. */
function rolloutForm(started: (id: string) => void, say: (text: string, isError?: boolean) => void): { el: HTMLElement; update(updates: UpdateBundle[]): Promise<void> } {
  const update = h('select', { name: 'rollout-update', required: true });
  const gateways = h('select', { name: 'rollout-gateways', multiple: true, size: 4 });
  const site = h('select', { name: 'rollout-site' });
  const target = (value: RolloutForm['target'], checked = false) => h('input', { type: 'radio', name: 'rollout-target', value, checked });
  const targets = [target('gateways', true), target('site'), target('all')];
  const field = (name: string, placeholder: string, size = 5) => h('input', { name, size, placeholder });
  const maxConcurrent = field('rollout-max-concurrent', '1');
  const perMinute = field('rollout-per-minute', '—');
  const abortAfter = field('rollout-abort-after', '1 | 25%', 7);
  const healthTimeout = field('rollout-health-timeout', '600');
  let known: string | undefined;
  const el = h('form', {
    class: 'card', 'data-testid': 'rollout-form',
    onSubmit: async (e: Event) => {
      e.preventDefault();
      if (!update.value) return say(t('rollout.noUpdates'), true);
      const body = rolloutBody({
        updateId: update.value,
        target: (targets.find((x) => x.checked)?.value ?? 'gateways') as RolloutForm['target'],
        gateways: [...gateways.selectedOptions].map((o) => o.value),
        site: site.value,
        maxConcurrent: maxConcurrent.value,
        perMinute: perMinute.value,
        abortAfterFailures: abortAfter.value,
        healthTimeoutS: healthTimeout.value,
      });
      try {
        const rollout = await api<Rollout>('/api/v1/rollouts', { method: 'POST', json: body });
        started(rollout.id);
      } catch (err) {
        say(t('common.error', { message: (err as Error).message }), true);
      }
    },
  },
    h('h2', null, t('rollout.start')),
    h('div', { class: 'filters' },
      h('label', null, t('rollout.update'), update),
      h('fieldset', { class: 'row' }, h('legend', null, t('rollout.targets')),
        h('label', null, targets[0], t('rollout.targetGateways')), gateways,
        h('label', null, targets[1], t('rollout.targetSite')), site,
        h('label', null, targets[2], t('rollout.targetAll'))),
    ),
    h('div', { class: 'filters' },
      h('label', null, t('rollout.maxConcurrent'), maxConcurrent),
      h('label', null, t('rollout.perMinute'), perMinute),
      h('label', null, t('rollout.abortAfter'), abortAfter),
      h('label', null, t('rollout.healthTimeout'), healthTimeout),
      h('button', { type: 'submit', 'data-testid': 'start-rollout' }, t('rollout.submit')),
    ),
  );
  return {
    el,
    // Options are refilled only when the bundles change, so a refresh keeps what is being chosen.
    async update(updates) {
      const signature = updates.map((u) => u.id).join();
      if (signature === known) return;
      const first = known === undefined;
      known = signature;
      const chosen = update.value;
      fill(update, updates.map((u) => h('option', { value: u.id }, `${u.version} (${u.id})`)));
      if (chosen) update.value = chosen;
      if (!first) return;
      const [list, sites] = await Promise.all([
        api<{ gateways: Gateway[] }>('/api/v1/gateways'),
        apiOptional<{ sites: Site[] }>('/api/v1/sites').catch(() => undefined),
      ]);
      fill(gateways, list.gateways.map((gw) => h('option', { value: gw.id }, gw.name ? `${gw.name} (${gw.id})` : gw.id)));
      fill(site, (sites?.sites ?? []).map((x) => h('option', { value: x.id }, x.name ? `${x.name} (${x.id})` : x.id)));
    },
  };
}
