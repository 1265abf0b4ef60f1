/** The dashboard's shell: sign-in gate, navigation, language switch, live status, and the router. */
import './styles.css';
import { currentSession, live, logout, onSignedOut } from './api.js';
import { h, fill } from './dom.js';
import { lang, setLang, t, tMaybe, type TextKey } from './i18n.js';
import { navigate, onNavigate, currentPath } from './router.js';
import type { View } from './view.js';
import { signInView } from './views/signin.js';
import { mapView } from './views/map.js';
import { eventsView } from './views/events.js';
import { detectorsView } from './views/detectors.js';
import { gatewaysView, gatewayView } from './views/gateways.js';
import { deviceView } from './views/device.js';
import { camerasView } from './views/cameras.js';
import { screensView } from './views/screens.js';
import { auditView } from './views/audit.js';
import { sitesView } from './views/sites.js';
import { enrolmentView } from './views/enrolment.js';
import { usersView } from './views/users.js';
import { updatesView } from './views/updates.js';
import { accountView } from './views/account.js';
import { NAV, isActive, matchRoute, routeTable, visibleNav } from './logic/routes.js';

const ROUTES = routeTable<View>({
  map: mapView,
  events: eventsView,
  detectors: detectorsView,
  gateways: gatewaysView,
  gateway: gatewayView,
  device: deviceView,
  cameras: camerasView,
  screens: screensView,
  audit: auditView,
  sites: sitesView,
  enrolment: enrolmentView,
  updates: updatesView,
  users: usersView,
  account: accountView,
});

const app = document.getElementById('app')!;
let disposeView: (() => void) | undefined;

function render(): void {
  disposeView?.();
  disposeView = undefined;
  document.title = t('app.title');
  const session = currentSession();
  const path = currentPath();
  if (!session) {
    live.stop();
    const main = h('main', { class: 'signin-page' });
    fill(app, main);
    disposeView = signInView(main, {}) ?? undefined;
    return;
  }
  if (path === '/' || path === '/signin') {
    navigate('/map', true);
    return;
  }
  live.start();
  const content = h('main', { class: 'content', id: 'content' });
  const status = h('span', { class: 'live-status', 'data-testid': 'live-status' });
  const stopStatus = live.onStatus((connected) => {
    status.textContent = `● ${t(connected ? 'live.connected' : 'live.disconnected')}`;
    status.classList.toggle('connected', connected);
  });
  const nav = h(
    'nav',
    { class: 'sidebar' },
    h('div', { class: 'brand' }, h('strong', null, 'Quanlink'), h('small', null, t('app.subtitle'))),
    visibleNav(NAV, session.user.role).map(({ path: to, key }) =>
      h('a', { href: to, class: isActive(path, to) ? 'active' : undefined, 'data-nav': to }, t(key as TextKey)),
    ),
  );
  const header = h(
    'header',
    { class: 'topbar' },
    status,
    h('span', { class: 'spacer' }),
    h('a', { class: 'user', href: '/account', 'data-testid': 'user' }, `${session.user.name ?? session.user.username} · ${tMaybe(`role.${session.user.role}`, session.user.role)}`),
    h('button', { class: 'link', 'data-testid': 'lang', onClick: () => { setLang(lang() === 'zh' ? 'en' : 'zh'); render(); } }, t('lang.switch')),
    h('button', { class: 'link', 'data-testid': 'signout', onClick: async () => { await logout(); live.stop(); navigate('/signin'); } }, t('signout')),
  );
  fill(app, h('div', { class: 'shell' }, nav, h('div', { class: 'main-column' }, header, content)));
  const route = matchRoute(path, ROUTES);
  let disposeContent: (() => void) | undefined;
  if (route) {
    disposeContent = route.view(content, route.params) ?? undefined;
  } else {
    fill(content, h('p', null, t('notFound')));
  }
  disposeView = () => {
    stopStatus();
    disposeContent?.();
  };
}

setLang(lang());
onSignedOut(() => navigate('/signin'));
onNavigate(render);
render();
