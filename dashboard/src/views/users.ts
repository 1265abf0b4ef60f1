/**
 * Users (admin): list, create (the cloud's password policy speaks for itself in its refusal), change
 * role, disable or enable, delete; a user's API tokens (a new one shown once, revoke).
 */
import { api, currentSession } from '../api.js';
import { h, fill, formatTime } from '../dom.js';
import { t } from '../i18n.js';
import { ROLES } from '../logic/roles.js';
import type { UserRecord } from '../types.js';
import { tokensPanel } from './tokens.js';
import type { View } from '../view.js';

export const usersView: View = (root) => {
  const message = h('p', { 'data-testid': 'users-message', role: 'status' });
  const list = h('div', { class: 'table-wrap' }, t('common.loading'));
  const tokensBox = h('div', { 'data-testid': 'user-tokens' });
  const say = (text: string, isError = false) => {
    message.textContent = text;
    message.className = isError ? 'error' : 'small';
  };
  const attempt = async (what: () => Promise<string>) => {
    try {
      say(await what());
      await load();
    } catch (err) {
      say(t('common.error', { message: (err as Error).message }), true);
    }
  };
  const userPath = (username: string) => `/api/v1/users/${encodeURIComponent(username)}`;
  const roleOptions = () => ROLES.map((r) => h('option', { value: r }, t(`role.${r}`)));

  const form = {
    username: h('input', { name: 'new-username', required: true, size: 14, autocomplete: 'off' }),
    name: h('input', { name: 'new-name', size: 16 }),
    role: h('select', { name: 'new-role' }, roleOptions()),
    password: h('input', { name: 'new-password', type: 'password', required: true, size: 16, autocomplete: 'new-password' }),
  };
  form.role.value = 'viewer';

  const showTokens = async (username: string) => {
    const panel = tokensPanel(username, say);
    fill(tokensBox, h('h2', null, t('users.tokensOf', { username })), panel.el);
    await panel.load();
  };

  const load = async () => {
    const { users } = await api<{ users: UserRecord[] }>('/api/v1/users');
    const me = currentSession()?.user.username;
    fill(list, h('table', { 'data-testid': 'users' },
      h('thead', null, h('tr', null, [t('signin.username'), t('common.name'), t('users.role'), t('common.state'), t('device.updated'), ''].map((x) => h('th', null, x)))),
      h('tbody', null, users.map((u) => {
        const role = h('select', { name: 'role', 'data-username': u.username }, roleOptions());
        role.value = u.role;
        role.addEventListener('change', () => attempt(async () => {
          await api(userPath(u.username), { method: 'PATCH', json: { role: role.value } });
          return t('users.roleChanged', { username: u.username, role: t(`role.${role.value as 'viewer'}`) });
        }));
        const confirmDelete = h('button', {
          class: 'small danger', type: 'button', hidden: true, 'data-testid': 'delete-confirm',
          onClick: () => attempt(async () => {
            await api(userPath(u.username), { method: 'DELETE' });
            return t('users.deleted', { username: u.username });
          }),
        }, t('users.deleteConfirm', { username: u.username }));
        return h('tr', { 'data-user': u.username, 'data-role': u.role, 'data-disabled': String(u.disabled) },
          h('td', null, u.username, u.username === me ? h('span', { class: 'small' }, ` (${t('users.you')})`) : null),
          h('td', null, u.name ?? '—'),
          h('td', null, role),
          h('td', null, h('span', { class: `pill ${u.disabled ? 'off' : 'ok'}` }, t(u.disabled ? 'users.disabled' : 'users.enabled'))),
          h('td', { class: 'nowrap' }, formatTime(u.updatedAt)),
          h('td', { class: 'nowrap' },
            h('button', {
              class: 'small', type: 'button', 'data-testid': 'toggle-disabled',
              onClick: () => attempt(async () => {
                await api(userPath(u.username), { method: 'PATCH', json: { disabled: !u.disabled } });
                return t(u.disabled ? 'users.enabledNow' : 'users.disabledNow', { username: u.username });
              }),
            }, t(u.disabled ? 'users.enable' : 'users.disable')),
            h('button', { class: 'small', type: 'button', 'data-testid': 'show-tokens', onClick: () => void showTokens(u.username).catch((err: Error) => say(t('common.error', { message: err.message }), true)) }, t('users.tokens')),
            h('button', { class: 'small danger', type: 'button', 'data-testid': 'delete-user', onClick: () => { confirmDelete.hidden = false; } }, t('common.delete')),
            confirmDelete,
          ),
        );
      })),
    ));
  };

  fill(root,
    h('h1', null, t('users.title')),
    h('form', {
      class: 'card filters', 'data-testid': 'user-form',
      onSubmit: (e: Event) => {
        e.preventDefault();
        void attempt(async () => {
          const body: Record<string, unknown> = { username: form.username.value.trim(), role: form.role.value, password: form.password.value };
          if (form.name.value.trim()) body.name = form.name.value.trim();
          const user = await api<UserRecord>('/api/v1/users', { method: 'POST', json: body });
          form.username.value = '';
          form.name.value = '';
          form.password.value = '';
          return t('users.createdUser', { username: user.username, role: t(`role.${user.role}`) });
        });
      },
    },
    h('label', null, t('signin.username'), form.username),
    h('label', null, t('common.name'), form.name),
    h('label', null, t('users.role'), form.role),
    h('label', null, t('signin.password'), form.password),
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'create-user' }, t('users.create'))),
    message,
    list,
    tokensBox,
  );
  void load().catch((err: Error) => say(t('common.error', { message: err.message }), true));
};
