import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonOf } from '../support/http.js';
import { authHeader, startTestServer, type TestServer } from '../support/server.js';

interface CatalogSchema {
  properties?: Record<string, { enum?: unknown[]; anyOf?: Array<{ const?: unknown }> }>;
}
interface CatalogProvider {
  id: string;
  title: string;
  labels: Record<
    'en' | 'ru',
    {
      title?: string;
      operations?: Record<string, { title: string }>;
      templates?: Record<string, string>;
      fields?: Record<string, { title: string }>;
      options?: Record<string, string>;
    }
  >;
  operations: Array<{ id: string; settings_schema: CatalogSchema; template_keys: Array<{ key: string }> }>;
}

/** The slot's own settings (the UI names them); everything else belongs to the provider. */
const SLOT_OWN = new Set(['output']);

function enumValues(s: { enum?: unknown[]; anyOf?: Array<{ const?: unknown }> }): string[] {
  if (s.enum) return s.enum.map(String);
  if (s.anyOf?.every((x) => x.const !== undefined)) return s.anyOf.map((x) => String(x.const));
  return [];
}

/**
 * Each provider names its own operations, templates, settings and their values in Russian and
 * English in GET /api/providers (from src/providers/<id>/labels.ts), so the admin UI needs no
 * dictionary entry for a provider. Adding a setting without its words fails here.
 */
describe('providers name themselves in both languages', () => {
  let server: TestServer;
  let providers: CatalogProvider[];

  beforeAll(async () => {
    server = await startTestServer();
    const res = await fetch(`${server.url}/api/providers`, { headers: authHeader(server, ['slots:read']) });
    expect(res.status).toBe(200);
    providers = (await jsonOf(res)).providers;
  });
  afterAll(() => server.close());

  it('covers every built-in provider', () => {
    expect(providers.map((p) => p.id).sort()).toEqual(['gemini', 'local', 'openai', 'turbotext']);
    expect(Object.fromEntries(providers.map((p) => [p.id, p.labels.ru.title]))).toEqual({
      local: 'Встроенный (без интернета)',
      gemini: 'Google Gemini',
      openai: 'OpenAI GPT Image',
      turbotext: 'Turbotext',
    });
  });

  it('names every operation, template, field and option value in Russian, and every field and value in English', () => {
    const missing: string[] = [];
    for (const p of providers) {
      for (const op of p.operations) {
        if (!p.labels.ru.operations?.[op.id]) missing.push(`${p.id}: ru operation ${op.id}`);
        for (const k of op.template_keys)
          if (!p.labels.ru.templates?.[k.key]) missing.push(`${p.id}: ru template ${k.key}`);
        for (const [name, schema] of Object.entries(op.settings_schema.properties ?? {})) {
          if (SLOT_OWN.has(name)) continue;
          for (const lang of ['ru', 'en'] as const) {
            if (!p.labels[lang].fields?.[name]) missing.push(`${p.id}/${op.id}: ${lang} field ${name}`);
            for (const v of enumValues(schema)) {
              // Values that read the same in every language (aspect ratios, sizes) need no words.
              if (/^[0-9:.xK]+$/.test(v)) continue;
              if (!p.labels[lang].options?.[v]) missing.push(`${p.id}/${op.id}: ${lang} value ${name}=${v}`);
            }
          }
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
