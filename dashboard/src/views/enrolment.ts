/**
 * Enrolment tokens (technicians, admins): issue one for a site or grid cell, optionally for one
 * gateway id, shown once with the command the technician runs at the roadside box; the list with
 * each token's state; revoke an unused one.
 */
import { api } from '../api.js';
import { h, fill, formatTime } from '../dom.js';
import { t } from '../i18n.js';
import { enrolCommand } from '../logic/fleet.js';
import type { EnrolmentToken, GridCell, Site } from '../types.js';
import { every, type View } from '../view.js';

export const enrolmentView: View = (root) => {
  const site = h('select', { name: 'token-site' });
  const gridCell = h('select', { name: 'token-grid-cell' });
  const gatewayId = h('input', { name: 'token-gateway', size: 16, placeholder: t('enrol.gatewayIdHelp') });
  const hours = h('input', { name: 'token-hours', type: 'number', min: 1, max: 720, value: 24, size: 5 });
  const note = h('input', { name: 'token-note', size: 24, maxlength: 500 });
  const issued = h('div', { 'data-testid': 'issued' });
  const message = h('p', { role: 'status' });
  const list = h('div', { class: 'table-wrap' }, t('common.loading'));

  const say = (text: string, isError = false) => {
    message.textContent = text;
    message.className = isError ? 'error' : 'small';
  };

  const showIssued = (token: EnrolmentToken & { token: string }) => {
    const command = enrolCommand(location.origin, token.token);
    const code = h('code', { 'data-testid': 'enrol-command', class: 'command' }, command);
    const copied = h('span', { class: 'small' });
    fill(issued, h('div', { class: 'card', 'data-testid': 'issued-token', 'data-token-id': token.id },
      h('strong', null, t('enrol.issued', { id: token.id, expires: formatTime(token.expiresAt) })),
      h('p', { class: 'small' }, t('enrol.shownOnce')),
      h('pre', null, code),
      h('button', {
        type: 'button', 'data-testid': 'copy-command',
        onClick: async () => {
          try {
            await navigator.clipboard.writeText(command);
            copied.textContent = t('enrol.copied');
          } catch {
            // No clipboard (plain http to a remote host): select the text for Ctrl+C.
            const range = document.createRange();
            range.selectNodeContents(code);
            getSelection()?.removeAllRanges();
            getSelection()?.addRange(range);
            copied.textContent = t('enrol.selected');
          }
        },
      }, t('enrol.copy')),
      ' ', copied,
    ));
  };

  const issue = async (event: Event) => {
    event.preventDefault();
    const body: Record<string, unknown> = {};
    if (site.value) body.site = site.value;
    if (gridCell.value) body.gridCell = gridCell.value;
    if (gatewayId.value.trim()) body.gatewayId = gatewayId.value.trim();
    if (note.value.trim()) body.note = note.value.trim();
    const expiry = Number(hours.value);
    if (hours.value.trim() !== '') {
      if (!(expiry > 0 && expiry <= 720)) return say(t('enrol.badHours'), true);
      body.expiresInHours = expiry;
    }
    if (!body.site && !body.gridCell) return say(t('enrol.needsPlace'), true);
    try {
      const token = await api<EnrolmentToken & { token: string }>('/api/v1/enrolment-tokens', { method: 'POST', json: body });
      say('');
      showIssued(token);
      await load();
    } catch (err) {
      say(t('common.error', { message: (err as Error).message }), true);
    }
  };

  const revoke = async (id: string) => {
    try {
      await api(`/api/v1/enrolment-tokens/${encodeURIComponent(id)}/revoke`, { method: 'POST' });
      say(t('enrol.revoked', { id }));
      await load();
    } catch (err) {
      say(t('common.error', { message: (err as Error).message }), true);
    }
  };

  const load = async () => {
    const { tokens } = await api<{ tokens: EnrolmentToken[] }>('/api/v1/enrolment-tokens');
    fill(list, h('table', { 'data-testid': 'enrolment-tokens' },
      h('thead', null, h('tr', null, ['ID', t('gateways.site'), t('gateways.gridCell'), t('common.gateway'), t('screens.createdBy'), t('enrol.expires'), t('common.state'), t('enrol.usedBy'), ''].map((x) => h('th', null, x)))),
      h('tbody', null, tokens.map((tok) => h('tr', { 'data-token': tok.id, 'data-state': tok.state },
        h('td', { class: 'small' }, tok.id),
        h('td', null, tok.siteId ?? '—'),
        h('td', null, tok.gridCellId ?? '—'),
        h('td', null, tok.gatewayId ?? (tok.gatewayIdPrefix ? `${tok.gatewayIdPrefix}…` : '—')),
        h('td', null, tok.createdBy),
        h('td', { class: 'nowrap' }, formatTime(tok.expiresAt)),
        h('td', null, h('span', { class: `pill ${tok.state === 'unused' ? 'ok' : tok.state === 'used' ? 'off' : 'bad'}` }, t(`enrol.state.${tok.state}`))),
        h('td', null, tok.usedBy ? `${tok.usedBy} (${formatTime(tok.usedAt)})` : '—'),
        h('td', null, tok.state === 'unused' ? h('button', { class: 'small danger', type: 'button', 'data-testid': 'revoke-token', onClick: () => revoke(tok.id) }, t('enrol.revoke')) : null),
      ))),
    ));
  };

  fill(root,
    h('h1', null, t('enrol.title')),
    h('form', { class: 'card filters', 'data-testid': 'enrol-form', onSubmit: issue },
      h('label', null, t('gateways.site'), site),
      h('label', null, t('gateways.gridCell'), gridCell),
      h('label', null, t('enrol.gatewayId'), gatewayId),
      h('label', null, t('enrol.hours'), hours),
      h('label', null, t('screens.note'), note),
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'issue-token' }, t('enrol.issue')),
    ),
    message,
    issued,
    h('h2', null, t('enrol.list')),
    list,
  );
  void Promise.all([api<{ sites: Site[] }>('/api/v1/sites'), api<{ gridCells: GridCell[] }>('/api/v1/grid-cells')])
    .then(([s, c]) => {
      fill(site, h('option', { value: '' }, t('common.none')), s.sites.map((x) => h('option', { value: x.id }, `${x.name} (${x.id})`)));
      fill(gridCell, h('option', { value: '' }, t('common.none')), c.gridCells.map((x) => h('option', { value: x.id }, `${x.name} (${x.id})`)));
    })
    .catch((err: Error) => say(t('common.error', { message: err.message }), true));
  return every(10_000, () => load().catch((err: Error) => say(t('common.error', { message: err.message }), true)));
};
