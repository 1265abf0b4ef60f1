/**
 * A user's API tokens: list, create (the secret shown once) and revoke. The users page shows it for
 * any user (admin); "My account" for the signed-in user's own tokens (any role: the cloud lets a
 * user manage their own).
 */
import { api } from '../api.js';
import { h, fill, formatTime } from '../dom.js';
import { t } from '../i18n.js';
import type { ApiToken } from '../types.js';

export function tokensPanel(username: string, say: (text: string, isError?: boolean) => void): { el: HTMLElement; load(): Promise<void> } {
  const base = `/api/v1/users/${encodeURIComponent(username)}/tokens`;
  const tokenName = h('input', { name: 'token-name', required: true, size: 16, maxlength: 100, placeholder: t('users.tokenName') });
  const days = h('input', { name: 'token-days', type: 'number', min: 1, size: 5, placeholder: t('users.tokenDays') });
  const created = h('div');
  const table = h('div', { class: 'table-wrap' });
  const attempt = async (what: () => Promise<string>) => {
    try {
      say(await what());
    } catch (err) {
      say(t('common.error', { message: (err as Error).message }), true);
    }
  };
  const load = async () => {
    const { tokens } = await api<{ tokens: ApiToken[] }>(base);
    fill(table, h('table', { 'data-testid': 'tokens' },
      h('thead', null, h('tr', null, ['ID', t('common.name'), t('users.created'), t('enrol.expires'), t('users.lastUsed'), t('common.state'), ''].map((x) => h('th', null, x)))),
      h('tbody', null, tokens.map((tok) => h('tr', { 'data-token': tok.id, 'data-active': String(tok.active) },
        h('td', { class: 'small' }, tok.id), h('td', null, tok.name ?? '—'),
        h('td', { class: 'nowrap' }, formatTime(tok.createdAt)), h('td', { class: 'nowrap' }, formatTime(tok.expiresAt)), h('td', { class: 'nowrap' }, formatTime(tok.lastUsedAt)),
        h('td', null, h('span', { class: `pill ${tok.active ? 'ok' : 'off'}` }, t(tok.active ? 'users.active' : 'users.inactive'))),
        h('td', null, tok.active ? h('button', {
          class: 'small danger', type: 'button', 'data-testid': 'revoke-api-token',
          onClick: () => attempt(async () => {
            await api(`${base}/${encodeURIComponent(tok.id)}`, { method: 'DELETE' });
            await load();
            return t('users.tokenRevoked', { id: tok.id });
          }),
        }, t('enrol.revoke')) : null),
      ))),
    ));
  };
  const el = h('div', null,
    h('form', {
      class: 'filters', 'data-testid': 'token-form',
      onSubmit: (e: Event) => {
        e.preventDefault();
        void attempt(async () => {
          const body: Record<string, unknown> = { name: tokenName.value.trim() };
          if (days.value.trim()) body.expiresInDays = Number(days.value);
          const result = await api<{ token: string; record: ApiToken }>(base, { method: 'POST', json: body });
          fill(created, h('div', { class: 'card', 'data-testid': 'new-api-token' }, h('p', { class: 'small' }, t('users.tokenOnce')), h('pre', null, h('code', null, result.token))));
          tokenName.value = '';
          await load();
          return t('users.tokenCreated', { id: result.record.id });
        });
      },
    }, tokenName, days, h('button', { type: 'submit' }, t('users.newToken'))),
    created,
    table,
  );
  return { el, load };
}
