/** The audit trail: every change made through the API and by automatic guidance, newest first, live. */
import { api, live } from '../api.js';
import { h, fill, formatTime } from '../dom.js';
import { t } from '../i18n.js';
import type { AuditEntry } from '../types.js';
import { type View } from '../view.js';

export const auditView: View = (root) => {
  const actor = h('input', { name: 'actor', placeholder: t('audit.actor'), size: 12 });
  const action = h('input', { name: 'action', placeholder: t('audit.action'), size: 16 });
  const body = h('tbody');
  const table = h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'audit' },
    h('thead', null, h('tr', null, h('th', null, t('common.time')), h('th', null, t('audit.actor')), h('th', null, t('audit.action')), h('th', null, t('audit.subject')), h('th', null, t('common.details')))),
    body,
  ));
  const error = h('p', { class: 'error' });
  const row = (e: AuditEntry) => h('tr', { 'data-audit': e.id }, h('td', { class: 'nowrap' }, formatTime(e.at)), h('td', null, e.actor), h('td', null, e.action), h('td', null, e.subject), h('td', { class: 'json' }, JSON.stringify(e.details).slice(0, 300)));
  const matches = (e: AuditEntry) => (!actor.value.trim() || e.actor === actor.value.trim()) && (!action.value.trim() || e.action === action.value.trim());
  const load = async () => {
    const q = new URLSearchParams({ limit: '200' });
    if (actor.value.trim()) q.set('actor', actor.value.trim());
    if (action.value.trim()) q.set('action', action.value.trim());
    try {
      const { entries } = await api<{ entries: AuditEntry[] }>(`/api/v1/audit?${q}`);
      error.textContent = '';
      fill(body, entries.map(row));
    } catch (err) {
      error.textContent = t('common.error', { message: (err as Error).message });
    }
  };
  fill(root, h('h1', null, t('audit.title')), h('form', { class: 'filters', onSubmit: (e: Event) => { e.preventDefault(); void load(); } }, actor, action, h('button', { type: 'submit' }, t('common.apply'))), error, table);
  void load();
  return live.subscribe((event) => {
    if (event.type !== 'audit') return;
    const entry = event.entry as AuditEntry;
    if (matches(entry)) body.prepend(row(entry));
  });
};
