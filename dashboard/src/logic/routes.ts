/** Client routes: which view a path shows and with which parameters, and which pages a role sees in the navigation. */
import { roleMay, type Action, type Role } from './roles.js';

export interface Route<V> {
  pattern: RegExp;
  view: V;
}

/** The first route whose pattern matches, with its named groups URL-decoded; undefined when none does. */
export function matchRoute<V>(path: string, routes: readonly Route<V>[]): { view: V; params: Record<string, string> } | undefined {
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    const params: Record<string, string> = {};
    for (const [name, value] of Object.entries(match.groups ?? {})) {
      if (value === undefined) continue;
      try {
        params[name] = decodeURIComponent(value);
      } catch {
        return undefined; // a malformed escape is no page of ours
      }
    }
    return { view: route.view, params };
  }
  return undefined;
}

export interface NavEntry<K> {
  path: string;
  key: K;
  /** Shown only to roles that may do this; pages anyone may read have none. */
  needs?: Action;
}

export function visibleNav<K>(entries: readonly NavEntry<K>[], role: Role | undefined): NavEntry<K>[] {
  return entries.filter((entry) => entry.needs === undefined || roleMay(role, entry.needs));
}

/** Whether the navigation entry `to` is the current page (or a page below it). */
export function isActive(path: string, to: string): boolean {
  return path === to || path.startsWith(`${to}/`);
}

/** Every page of the dashboard and the paths it answers; a gateway or device id in a path is URL-encoded. */
export const PAGE_PATTERNS = {
  map: /^\/map$/,
  events: /^\/events$/,
  detectors: /^\/detectors$/,
  gateways: /^\/gateways$/,
  gateway: /^\/gateways\/(?<gatewayId>[^/]+)$/,
  device: /^\/gateways\/(?<gatewayId>[^/]+)\/devices\/(?<deviceId>[^/]+)$/,
  cameras: /^\/cameras$/,
  screens: /^\/screens$/,
  audit: /^\/audit$/,
  sites: /^\/sites$/,
  enrolment: /^\/enrolment$/,
  updates: /^\/updates$/,
  users: /^\/users$/,
  account: /^\/account$/,
} as const;
export type Page = keyof typeof PAGE_PATTERNS;

/** The route table with a view for every page (a page without a view does not compile). */
export function routeTable<V>(views: Record<Page, V>): Route<V>[] {
  return (Object.keys(PAGE_PATTERNS) as Page[]).map((page) => ({ pattern: PAGE_PATTERNS[page], view: views[page] }));
}

/** The navigation (text keys of i18n.ts): pages anyone reads, then the ones a role needs. */
export const NAV = [
  { path: '/map', key: 'nav.map' },
  { path: '/events', key: 'nav.events' },
  { path: '/detectors', key: 'nav.detectors' },
  { path: '/gateways', key: 'nav.gateways' },
  { path: '/cameras', key: 'nav.cameras' },
  { path: '/screens', key: 'nav.screens' },
  { path: '/audit', key: 'nav.audit' },
  { path: '/sites', key: 'nav.sites' },
  { path: '/enrolment', key: 'nav.enrolment', needs: 'provision' },
  { path: '/updates', key: 'nav.updates' },
  { path: '/users', key: 'nav.users', needs: 'admin' },
  { path: '/account', key: 'nav.account' },
] as const satisfies readonly NavEntry<string>[];
