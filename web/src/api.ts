import createClient from 'openapi-fetch';
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
  const data = await ok(client.POST('/api/login', { body: { username, password, remember } }));
  current = { username: data.user.username, permissions: data.user.permissions, csrf: data.csrf_token };
}

/** Changes the caller's password; the server replaces this session, so the new CSRF token is kept. */
export async function changeOwnPassword(currentPassword: string, newPassword: string): Promise<void> {
  const data = await ok(
    client.PUT('/api/me/password', { body: { current_password: currentPassword, new_password: newPassword } }),
  );
  if (current && data.csrf_token) current = { ...current, csrf: data.csrf_token };
}

/**
 * Every call of the admin API, bound to the generated OpenAPI types (web/src/api-types.ts): the path,
 * its parameters, its body and its answer are checked by the compiler (`npm run docs` regenerates
 * them from the route schemas). Unwrap an answer with `ok(…)`.
 */
export const client = createClient<paths>({ credentials: 'same-origin', fetch: (request) => sessionFetch(request) });

/**
 * Sends the session's CSRF token with every write. When the session was renewed in another tab (a
 * password change there), takes its token and retries once; a 401 ends the session in the page
 * (except the login itself).
 */
async function sessionFetch(request: Request, retry = true): Promise<Response> {
  const write = request.method !== 'GET' && request.method !== 'HEAD';
  // Only a write can meet a stale CSRF token: only its body is kept for the one retry.
  const again = retry && write ? request.clone() : undefined;
  if (current && write) request.headers.set('x-csrf-token', current.csrf);
  const res = await fetch(request);
  if (res.status === 403 && again && current) {
    const code = (await errorOf(res.clone()))?.code;
    const before = current.csrf;
    if (code === 'csrf_failed') {
      await restoreSession();
      if (current && current.csrf !== before) return sessionFetch(again, false);
    }
  }
  if (res.status === 401 && new URL(request.url).pathname !== '/api/login') onUnauthorized();
  return res;
}

interface ErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

async function errorOf(res: Response): Promise<ErrorBody | undefined> {
  const body = (await res.json().catch(() => undefined)) as { error?: ErrorBody } | undefined;
  return body?.error;
}

/** What openapi-fetch answers: the parsed body, or the error body, with the response. */
interface Outcome<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The answer's body; a refusal becomes an ApiError with the server's code and message. */
export async function ok<T>(call: Promise<Outcome<T>>): Promise<T> {
  return (await okWithHeaders(call)).data;
}

/** The answer's body and headers (the slot editor keeps the ETag). */
export async function okWithHeaders<T>(call: Promise<Outcome<T>>): Promise<{ data: T; headers: Headers }> {
  const { data, error, response } = await call;
  if (!response.ok) {
    const e = (error as { error?: ErrorBody } | undefined)?.error;
    throw new ApiError(
      response.status,
      e?.code ?? 'http_error',
      e?.message ?? `HTTP ${response.status}`,
      e?.details ?? {},
    );
  }
  return { data: data as T, headers: response.headers };
}

/**
 * A multipart upload (a template image, a test run's photo): the route reads the parts as a stream,
 * so its OpenAPI entry has no body schema. The path and the answer are still the generated ones.
 */
export function uploadForm<P extends '/api/slots/{id}/templates' | '/api/slots/{id}/test-run'>(
  path: P,
  id: string,
  form: FormData,
): Promise<Outcome<Answer<P, 'post', P extends '/api/slots/{id}/templates' ? 201 : 200>>> {
  const post = client.POST as unknown as (path: P, init: object) => Promise<Outcome<never>>;
  return post(path, { params: { path: { id } }, body: form, bodySerializer: (body: unknown) => body });
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

/** The query parameters of a GET path. */
export type Query<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } }
  ? NonNullable<Q>
  : never;

export type Slot = Answer<'/api/slots/{id}', 'get'>;
/** A slot's saved form (PUT /api/slots/{id}). */
export type SlotChange = NonNullable<paths['/api/slots/{id}']['put']['requestBody']>['content']['application/json'];
export type TestRun = Answer<'/api/slots/{id}/test-run', 'post'>;
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

type ProviderAnswer = Answer<'/api/providers', 'get'>['providers'][number];
/** An operation as GET /api/providers describes it; its settings_schema (any JSON Schema there) is read as one. */
export type Operation = Omit<ProviderAnswer['operations'][number], 'settings_schema'> & { settings_schema: JsonSchema };
export type Provider = Omit<ProviderAnswer, 'operations'> & { operations: Operation[] };

/** The provider catalog (every account may read it). */
export async function loadProviders(): Promise<Provider[]> {
  return (await ok(client.GET('/api/providers'))).providers as Provider[];
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
export type Permission = Account['permissions'][number];
export type Settings = Answer<'/api/settings', 'get'>;
export type AddressCheck = Answer<'/api/settings/public-address/check', 'post'>;
export type KeyCheck = Answer<'/api/settings/provider-keys/{provider}/check', 'post'>;
export type KeyCheckProvider =
  paths['/api/settings/provider-keys/{provider}/check']['post']['parameters']['path']['provider'];
/** A settings change (PUT /api/settings). */
export type SettingsChange = NonNullable<paths['/api/settings']['put']['requestBody']>['content']['application/json'];

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
