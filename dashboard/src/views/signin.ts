/** Sign-in: user name and password (POST /api/v1/auth/login), or an access token as the fallback. */
import { ApiProblem, login, loginWithToken, setSession, type Session } from '../api.js';
import { h, fill } from '../dom.js';
import { lang, setLang, t } from '../i18n.js';
import { navigate } from '../router.js';
import type { View } from '../view.js';

export const signInView: View = (root) => {
  let tokenMode = false;
  const draw = () => {
    const error = h('p', { class: 'error', role: 'alert', 'data-testid': 'signin-error' });
    const done = (session: Session) => {
      setSession(session);
      navigate('/map', true);
    };
    const username = h('input', { name: 'username', autocomplete: 'username', required: true });
    const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const token = h('input', { name: 'token', type: 'password', autocomplete: 'off', required: true });
    const submit = h('button', { type: 'submit', class: 'primary' }, t('signin.submit'));
    const form = h(
      'form',
      {
        class: 'card signin',
        onSubmit: async (event: Event) => {
          event.preventDefault();
          submit.disabled = true;
          error.textContent = '';
          try {
            done(tokenMode ? await loginWithToken(token.value.trim()) : await login(username.value.trim(), password.value));
          } catch (err) {
            error.textContent = messageOf(err, tokenMode);
          } finally {
            submit.disabled = false;
          }
        },
      },
      h('h1', null, t('app.title')),
      h('h2', null, t('signin.title')),
      tokenMode
        ? h('label', null, t('signin.token'), token)
        : [h('label', null, t('signin.username'), username), h('label', null, t('signin.password'), password)],
      submit,
      error,
      h('div', { class: 'row' },
        h('button', { type: 'button', class: 'link', 'data-testid': 'token-mode', onClick: () => { tokenMode = !tokenMode; draw(); } }, tokenMode ? t('signin.submit') : t('signin.useToken')),
        h('span', { class: 'spacer' }),
        h('button', { type: 'button', class: 'link', 'data-testid': 'lang', onClick: () => { setLang(lang() === 'zh' ? 'en' : 'zh'); draw(); } }, t('lang.switch')),
      ),
    );
    fill(root, form);
    (tokenMode ? token : username).focus();
  };
  draw();
};

function messageOf(err: unknown, tokenMode: boolean): string {
  if (err instanceof ApiProblem) {
    if (err.status === 401) return t(tokenMode ? 'signin.tokenInvalid' : 'signin.wrong');
    if (err.status === 429) return t('signin.rateLimited');
    if (!tokenMode && (err.status === 404 || err.status === 405)) return t('signin.unavailable', { status: err.status });
    return t('signin.failed', { message: err.message });
  }
  return t('signin.failed', { message: (err as Error).message });
}
