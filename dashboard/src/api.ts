/**
 * The cloud's HTTP API and live push, with the signed-in user's bearer token on every call.
 * Images the API serves (previews, thumbnails, snapshots) are fetched with the token too and shown
 * from object URLs, because an <img src> cannot carry an Authorization header.
 */
import { roleMay, type Action, type Role } from './logic/roles.js';

export type { Role } from './logic/roles.js';

export interface User {
  username: string;
  name?: string | null;
  role: Role;
}

export interface Session {
  token: string;
  expiresAt: number | null;
  user: User;
}

const SESSION_KEY = 'quanlink.session';

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: { page?: number; line?: number; message: string }[] = [],
  ) {
    super(message);
  }
}

let session: Session | null = loadSession();
const signedOutListeners = new Set<() => void>();

function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Session;
    if (parsed.expiresAt !== null && parsed.expiresAt < Date.now()) return null;
    return parsed;
  } catch {
    return null;
  }
}

export function currentSession(): Session | null {
  return session;
}

export function setSession(next: Session | null): void {
  session = next;
  if (next) sessionStorage.setItem(SESSION_KEY, JSON.stringify(next));
  else sessionStorage.removeItem(SESSION_KEY);
}

/** Called when the cloud refuses the token (expired, revoked): the app returns to sign-in. */
export function onSignedOut(listener: () => void): void {
  signedOutListeners.add(listener);
}

/** Whether the signed-in user's role may make this kind of change (logic/roles.ts). */
export function can(action: Action): boolean {
  return roleMay(session?.user.role, action);
}

function authHeaders(): Record<string, string> {
  return session ? { authorization: `Bearer ${session.token}` } : {};
}

async function problemOf(res: Response, what: string): Promise<ApiProblem> {
  let code = String(res.status);
  let message = `${what}: HTTP ${res.status}`;
  let problems: ApiProblem['problems'] = [];
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string }; problems?: ApiProblem['problems'] };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
    if (body.problems) problems = body.problems;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiProblem(res.status, code, message, problems);
}

function expire(): void {
  setSession(null);
  for (const listener of signedOutListeners) listener();
}

export async function api<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const { json, ...rest } = init;
  const res = await fetch(path, {
    ...rest,
    headers: { ...authHeaders(), ...(json !== undefined ? { 'content-type': 'application/json' } : {}), ...(rest.headers as Record<string, string> | undefined) },
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
  if (res.status === 401 && session && !path.startsWith('/api/v1/auth/login')) {
    expire();
  }
  if (!res.ok) throw await problemOf(res, `${rest.method ?? 'GET'} ${path}`);
  // 204 (a delete, a revoked token) has no body.
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** GET that answers undefined on 404 (an optional API such as sites, or a record not there yet). */
export async function apiOptional<T>(path: string): Promise<T | undefined> {
  try {
    return await api<T>(path);
  } catch (err) {
    if (err instanceof ApiProblem && err.status === 404) return undefined;
    throw err;
  }
}

export async function login(username: string, password: string): Promise<Session> {
  const body = await api<{ token: string; expiresAt: number | null; user: User }>('/api/v1/auth/login', { method: 'POST', json: { username, password } });
  return { token: body.token, expiresAt: body.expiresAt ?? null, user: body.user };
}

/**
 * Signs in with a token (the bootstrap admin token, or a token from elsewhere): the cloud says who
 * it belongs to at /auth/me. A cloud without user accounts has no /auth/me; its only token is the
 * bootstrap admin token, so the user is taken to be admin and the cloud still checks every change.
 */
export async function loginWithToken(token: string): Promise<Session> {
  const res = await fetch('/api/v1/auth/me', { headers: { authorization: `Bearer ${token}` } });
  if (res.ok) {
    const body = (await res.json()) as { user?: User; expiresAt?: number | null } & Partial<User>;
    const user: User = body.user ?? { username: body.username ?? 'admin', name: body.name ?? null, role: body.role ?? 'viewer' };
    return { token, expiresAt: body.expiresAt ?? null, user };
  }
  if (res.status === 404) return { token, expiresAt: null, user: { username: 'admin', name: null, role: 'admin' } };
  throw await problemOf(res, 'GET /api/v1/auth/me');
}

export async function logout(): Promise<void> {
  if (session) await fetch('/api/v1/auth/logout', { method: 'POST', headers: authHeaders() }).catch(() => undefined);
  setSession(null);
}

/** An object URL of an image the API serves; revoke it when the view goes away. */
export async function imageUrl(path: string): Promise<string> {
  const res = await fetch(path, { headers: authHeaders() });
  if (!res.ok) throw await problemOf(res, `GET ${path}`);
  return URL.createObjectURL(await res.blob());
}

/**
 * Sets an <img>'s source from an API image, showing the failure as its title. With `cache` (path ->
 * object URL, owned and revoked by the caller) an image already fetched is not fetched again.
 */
export function loadImage(img: HTMLImageElement, path: string, cache?: Map<string, string>): void {
  img.dataset.src = path;
  const cached = cache?.get(path);
  if (cached) {
    img.src = cached;
    img.dataset.loaded = 'true';
    return;
  }
  imageUrl(path)
    .then((url) => {
      if (cache) cache.set(path, url);
      if (img.dataset.src !== path) return cache ? undefined : URL.revokeObjectURL(url);
      const old = img.src;
      img.src = url;
      img.dataset.loaded = 'true';
      if (!cache && old.startsWith('blob:')) URL.revokeObjectURL(old);
    })
    .catch((err: Error) => {
      img.title = err.message;
      img.classList.add('broken');
    });
}

export type LiveEvent = { type: string } & Record<string, unknown>;
type LiveListener = (event: LiveEvent) => void;

/**
 * One WebSocket to /api/v1/ws for the whole app, reconnected with backoff; views subscribe to
 * event types and unsubscribe when they go away.
 */
class LiveFeed {
  private socket: WebSocket | null = null;
  private listeners = new Set<LiveListener>();
  private statusListeners = new Set<(connected: boolean) => void>();
  private retryMs = 500;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = true;
  connected = false;

  /** Opens the socket unless it is already open or opening (every page render calls this). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.socket?.close();
    this.socket = null;
    this.setConnected(false);
  }

  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onStatus(listener: (connected: boolean) => void): () => void {
    this.statusListeners.add(listener);
    listener(this.connected);
    return () => this.statusListeners.delete(listener);
  }

  private setConnected(connected: boolean): void {
    this.connected = connected;
    for (const listener of this.statusListeners) listener(connected);
  }

  private open(): void {
    if (this.stopped || !session) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const topics = 'dispatch,message,screen,audit,grade,proposal,video,camera,config';
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws?topics=${topics}&token=${encodeURIComponent(session.token)}`);
    this.socket = socket;
    socket.onopen = () => {
      this.retryMs = 500;
      this.setConnected(true);
    };
    socket.onmessage = (message) => {
      let event: LiveEvent;
      try {
        event = JSON.parse(String(message.data)) as LiveEvent;
      } catch {
        return;
      }
      for (const listener of this.listeners) listener(event);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.setConnected(false);
      if (this.stopped) return;
      this.retryTimer = setTimeout(() => this.open(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 10_000);
    };
  }
}

export const live = new LiveFeed();
