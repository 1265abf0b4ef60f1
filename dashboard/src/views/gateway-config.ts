/**
 * A gateway's configuration like a device shadow: the desired version (set here by a technician or
 * admin), the version the gateway reports it runs, whether they agree, the gateway's reasons when it
 * refused one, and the history. The editor is plain JSON of the managed part (devices, settings).
 */
import { api, ApiProblem, can, live } from '../api.js';
import { h, fill, formatTime } from '../dom.js';
import { t } from '../i18n.js';
import { configText, parseConfigText, reasonsOf } from '../logic/fleet.js';
import type { ConfigHistoryEntry, ConfigShadow } from '../types.js';
import { every } from '../view.js';

export function configSection(gatewayId: string): { el: HTMLElement; dispose(): void } {
  const path = `/api/v1/gateways/${encodeURIComponent(gatewayId)}/config`;
  const mayEdit = can('provision');
  const status = h('div', { 'data-testid': 'config-status' }, t('common.loading'));
  const problems = h('div', { 'data-testid': 'config-problems', role: 'alert' });
  const history = h('div', { class: 'table-wrap' });
  const editor = h('textarea', { name: 'desired-config', rows: 14, spellcheck: 'false', class: 'code', readonly: !mayEdit });
  const save = h('button', { class: 'primary', type: 'button', 'data-testid': 'config-save' }, t('config.save'));
  const reload = h('button', { type: 'button', 'data-testid': 'config-reload' }, t('config.reload'));
  let shadow: ConfigShadow | undefined;
  /** The desired version the editor's text started from: the baseVersion of a save. */
  let baseVersion = 0;
  let dirty = false;
  let saving = false;

  const showProblems = (title: string, reasons: string[]) => {
    fill(problems, h('p', { class: 'error' }, title), reasons.length > 0 ? h('ul', { class: 'error', 'data-testid': 'config-reasons' }, reasons.map((r) => h('li', null, r))) : null);
  };

  const resetEditor = () => {
    baseVersion = shadow?.desired?.version ?? 0;
    editor.value = configText(shadow?.desired?.config ?? shadow?.reported?.config);
    dirty = false;
  };

  const drawStatus = () => {
    if (!shadow) return;
    const { desired, reported, inSync, lastError } = shadow;
    fill(status,
      h('p', null,
        h('span', { class: `pill ${inSync ? 'ok' : 'bad'}`, 'data-testid': 'config-in-sync', 'data-in-sync': String(inSync) }, t(inSync ? 'config.inSync' : 'config.notInSync')),
        ' ',
        desired
          ? h('span', { 'data-testid': 'config-desired', 'data-version': desired.version, 'data-outcome': desired.outcome }, t('config.desired', { version: desired.version, outcome: t(`config.outcome.${desired.outcome}`), by: desired.setBy, at: formatTime(desired.setAt) }))
          : h('span', null, t('config.noDesired')),
        ' · ',
        reported
          ? h('span', { 'data-testid': 'config-reported', 'data-version': reported.version }, t('config.reported', { version: reported.version, source: t(`config.source.${reported.source}`), at: formatTime(reported.receivedAt) }))
          : h('span', null, t('config.noReported')),
      ),
      lastError ? h('div', { class: 'card', 'data-testid': 'config-last-error', 'data-version': lastError.version },
        h('strong', { class: 'error' }, t('config.lastError', { version: lastError.version, code: lastError.code, at: formatTime(lastError.at) })),
        h('ul', { class: 'error', 'data-testid': 'config-last-error-reasons' }, reasonsOf(lastError.message).map((r) => h('li', null, r))),
      ) : null,
    );
    save.textContent = t('config.saveAs', { version: (desired?.version ?? 0) + 1 });
  };

  const load = async () => {
    const [next, entries] = await Promise.all([api<ConfigShadow>(path), api<ConfigHistoryEntry[]>(`${path}/history?limit=20`)]);
    shadow = next;
    if (!dirty && !saving) resetEditor();
    drawStatus();
    fill(history, h('table', { 'data-testid': 'config-history' },
      h('thead', null, h('tr', null, h('th', null, t('common.time')), h('th', null, t('common.type')), h('th', null, t('config.version')), h('th', null, t('audit.actor')), h('th', null, t('common.details')))),
      h('tbody', null, entries.map((e) => h('tr', { 'data-kind': e.kind, 'data-version': e.version },
        h('td', { class: 'nowrap' }, formatTime(e.at)),
        h('td', null, t(`config.kind.${e.kind}`)),
        h('td', null, String(e.version)),
        h('td', null, e.actor ?? (e.source ? t(`config.source.${e.source}`) : '—')),
        h('td', { class: 'small' }, e.error ? `${e.error.code}: ${e.error.message}` : e.sha256?.slice(0, 12) ?? ''),
      ))),
    ));
  };

  editor.addEventListener('input', () => {
    dirty = true;
  });
  reload.addEventListener('click', () => {
    resetEditor();
    fill(problems);
  });
  save.addEventListener('click', async () => {
    const parsed = parseConfigText(editor.value);
    if (!parsed.ok) return showProblems(t('config.invalidJson'), [parsed.error]);
    saving = true;
    save.disabled = true;
    fill(problems, h('p', { class: 'small', 'data-testid': 'config-saving' }, t('config.saving')));
    try {
      shadow = await api<ConfigShadow>(path, { method: 'PUT', json: { config: parsed.config, baseVersion } });
      fill(problems);
      if (shadow.desired?.outcome === 'rejected' && shadow.lastError) {
        // Refused by the gateway: the text stays for fixing, based on the version now current.
        baseVersion = shadow.desired.version;
        showProblems(t('config.refused', { version: shadow.lastError.version }), reasonsOf(shadow.lastError.message));
      } else {
        resetEditor();
        if (shadow.desired?.outcome === 'pending') fill(problems, h('p', { class: 'small' }, t('config.pending')));
      }
      drawStatus();
    } catch (err) {
      if (err instanceof ApiProblem && err.status === 409) showProblems(t('config.stale'), [err.message]);
      else if (err instanceof ApiProblem && err.status === 400) showProblems(t('config.rejectedByCloud'), [err.message, ...err.problems.map((p) => p.message)]);
      else showProblems(t('common.error', { message: (err as Error).message }), []);
    } finally {
      saving = false;
      save.disabled = false;
      void load().catch(() => undefined);
    }
  });

  const el = h('section', { 'data-testid': 'gateway-config' },
    h('h2', null, t('config.title')),
    status,
    h('label', { class: 'block' }, mayEdit ? t('config.editHelp') : t('config.readOnly'), editor),
    mayEdit ? h('div', { class: 'row' }, save, reload) : null,
    problems,
    h('h3', null, t('config.history')),
    history,
  );
  const stopRefresh = every(5000, () => load().catch((err: Error) => fill(status, h('p', { class: 'error' }, t('common.error', { message: err.message })))));
  const stopLive = live.subscribe((event) => {
    if (event.type === 'config' && event.gateway === gatewayId) void load().catch(() => undefined);
  });
  return {
    el,
    dispose() {
      stopRefresh();
      stopLive();
    },
  };
}
