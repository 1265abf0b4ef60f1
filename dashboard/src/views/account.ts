/** My account: who is signed in, sign-out, and the user's own API tokens (any role). */
import { currentSession, live, logout } from '../api.js';
import { h, fill } from '../dom.js';
import { t, tMaybe } from '../i18n.js';
import { navigate } from '../router.js';
import type { View } from '../view.js';
import { tokensPanel } from './tokens.js';

export const accountView: View = (root) => {
  const session = currentSession();
  if (!session) return;
  const { username, role } = session.user;
  const message = h('p', { role: 'status', 'data-testid': 'account-message' });
  const say = (text: string, isError = false) => {
    message.textContent = text;
    message.className = isError ? 'error' : 'small';
  };
  const tokens = tokensPanel(username, say);
  fill(root,
    h('h1', null, t('account.title')),
    h('section', { class: 'card' },
      h('p', { 'data-testid': 'account-user' }, t('account.signedInAs', { username: session.user.name ? `${session.user.name} (${username})` : username, role: tMaybe(`role.${role}`, role) })),
      h('button', { type: 'button', 'data-testid': 'account-signout', onClick: async () => { await logout(); live.stop(); navigate('/signin'); } }, t('signout')),
    ),
    h('section', { class: 'card', 'data-testid': 'my-tokens' },
      h('h2', null, t('users.tokens')),
      h('p', { class: 'small muted' }, t('account.tokensHelp')),
      message,
      tokens.el,
    ),
  );
  tokens.load().catch((err: Error) => say(t('common.error', { message: err.message }), true));
};
