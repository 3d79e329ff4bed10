import type { paths } from './api-types';
/** The documented admin API (docs/api.md), called with the session cookie. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/**
 * The session lives in an HttpOnly cookie the page cannot read (shared by every tab, ended at
 * logout); the page keeps only who is logged in and the session's CSRF token, which every write
 * sends as X-CSRF-Token.
 */
interface CurrentSession {
  username: string;
  permissions: string[];
  csrf: string;
}

let current: CurrentSession | null = null;

export function session(): CurrentSession | null {
  return current;
}

/** At start: the session of the cookie, if any (another tab may have logged in). */
export async function restoreSession(): Promise<void> {
  try {
    const res = await fetch('/api/me', { credentials: 'same-origin' });
    if (!res.ok) return;
    const me = (await res.json()) as { username: string; permissions: string[]; csrf_token?: string };
    current = me.csrf_token ? { username: me.username, permissions: me.permissions, csrf: me.csrf_token } : null;
  } catch {
    current = null;
  }
}

export async function logout(): Promise<void> {
  const csrf = current?.csrf;
  current = null;
  await fetch('/api/logout', {
    method: 'POST',
    credentials: 'same-origin',
    headers: csrf ? { 'x-csrf-token': csrf } : {},
  }).catch(() => undefined);
  location.hash = '#/login';
}

let onUnauthorized: () => void = () => {
  current = null;
  location.hash = '#/login';
};
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export async function login(username: string, password: string, remember = false): Promise<void> {
  const { data } = await api<{ csrf_token: string; user: { username: string; permissions: string[] } }>(
    'POST',
    '/api/login',
    { username, password, remember },
    {},
    false,
  );
  current = { username: data.user.username, permissions: data.user.permissions, csrf: data.csrf_token };
}

/** Changes the caller's password; the server replaces this session, so the new CSRF token is kept. */
export async function changeOwnPassword(currentPassword: string, newPassword: string): Promise<void> {
  const { data } = await api<{ csrf_token?: string }>('PUT', '/api/me/password', {
    current_password: currentPassword,
    new_password: newPassword,
  });
  if (current && data.csrf_token) current = { ...current, csrf: data.csrf_token };
}

export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  auth = true,
  retry = true,
): Promise<{ data: T; headers: Headers; status: number }> {
  const h: Record<string, string> = { ...headers };
  if (current && method !== 'GET' && method !== 'HEAD') h['x-csrf-token'] = current.csrf;
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    h['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers: h, body: payload, credentials: 'same-origin' });
  if (res.status === 204) return { data: undefined as T, headers: res.headers, status: res.status };
  const type = res.headers.get('content-type') ?? '';
  const data = type.includes('json') ? ((await res.json()) as unknown) : undefined;
  if (!res.ok) {
    const e = (data as { error?: { code: string; message: string; details?: Record<string, unknown> } } | undefined)
      ?.error;
    // The session was renewed in another tab (a password change there): take its CSRF token and retry once.
    if (res.status === 403 && e?.code === 'csrf_failed' && auth && retry) {
      const before = current?.csrf;
      await restoreSession();
      if (current && current.csrf !== before) return api<T>(method, path, body, headers, auth, false);
    }
    if (res.status === 401 && auth) onUnauthorized();
    throw new ApiError(res.status, e?.code ?? 'http_error', e?.message ?? `HTTP ${res.status}`, e?.details ?? {});
  }
  return { data: data as T, headers: res.headers, status: res.status };
}

/** An image behind the session, as an object URL for <img>. */
export async function authorizedImage(path: string): Promise<string> {
  const res = await fetch(path, { credentials: 'same-origin' });
  if (!res.ok) throw new ApiError(res.status, 'http_error', `HTTP ${res.status}`);
  return URL.createObjectURL(await res.blob());
}

/** The JSON body of a path's answer, from the generated OpenAPI types (web/src/api-types.ts). */
type Answer<P extends keyof paths, M extends 'get' | 'post' | 'put', S extends number = 200> = paths[P][M] extends {
  responses: { [K in S]: { content: { 'application/json': infer T } } };
}
  ? T
  : never;

export type Slot = Answer<'/api/slots/{id}', 'get'>;
export type Template = Slot['templates'][number];
export type Failover = Slot['failover'];
export type FailoverStep = Failover['steps'][number];
export type SlotModel = NonNullable<Slot['model']>;
export type ModelStatus = SlotModel['status'];
export type ModelCatalog = Answer<'/api/providers/{id}/models', 'get'>;
export type CatalogModel = ModelCatalog['models'][number];

export interface JsonSchema {
  type?: string;
  title?: string;
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

export interface Operation {
  id: string;
  title: string;
  description: string;
  settings_schema: JsonSchema;
  accepted_mime_types: string[];
  max_input_bytes: number;
  template_keys: Array<{ key: string; title: string; required: boolean }>;
}

export interface Provider {
  id: string;
  title: string;
  /** The driver's own words per language (web/src/i18n.ts, ProviderLabels). */
  labels: Answer<'/api/providers', 'get'>['providers'][number]['labels'];
  configured: boolean;
  reason?: string;
  requires_public_base_url: boolean;
  operations: Operation[];
}

export type Stats = Answer<'/api/stats/global', 'get'>;
export type Totals = Stats['totals'];
export type JobSummary = Answer<'/api/jobs', 'get'>['jobs'][number];
export type Job = Answer<'/api/jobs/{id}', 'get'>;
export type Refusal = Answer<'/api/stats/refusals', 'get'>['refusals'][number];
export type Booth = Answer<'/api/stats/booths', 'get'>['booths'][number];
export type BoothRequest = Answer<'/api/booths/{key}/requests', 'get'>['requests'][number];
export type Storage = Answer<'/api/stats/storage', 'get'>;
export type SlotStats = Answer<'/api/stats/slots/{id}', 'get'>;
export type Account = Answer<'/api/accounts', 'get'>['accounts'][number];
export type Settings = Answer<'/api/settings', 'get'>;

/**
 * Server-Sent Events over fetch (with the session cookie); a 401 ends the session in the page.
 * Reconnects by itself after `retryMs`; `close()` stops it.
 */
export function subscribeEvents(
  path: string,
  onEvent: (name: string, data: string) => void,
  onState: (live: boolean) => void,
  retryMs = 3000,
): { close(): void } {
  let stopped = false;
  let controller: AbortController | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connect = async () => {
    if (!current || stopped) return;
    controller = new AbortController();
    try {
      const res = await fetch(path, {
        headers: { accept: 'text/event-stream' },
        credentials: 'same-origin',
        signal: controller.signal,
      });
      if (res.status === 401) return onUnauthorized();
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onState(true);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) name = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
          }
          if (data.length) onEvent(name, data.join('\n'));
        }
      }
    } catch {
      /* dropped: reconnect below */
    }
    onState(false);
    if (!stopped) timer = setTimeout(() => void connect(), retryMs);
  };
  void connect();
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
      controller?.abort();
    },
  };
}

/** A result in the gallery (GET /api/gallery). */
export type GalleryItem = Answer<'/api/gallery', 'get'>['items'][number];
/** A share link of the gallery (GET /api/gallery/shares). */
export type Share = Answer<'/api/gallery/shares', 'get'>['shares'][number];

/** The 15 slot ids. */
export const SLOT_IDS = Array.from({ length: 15 }, (_, i) => `slot-${String(i + 1).padStart(3, '0')}`);
