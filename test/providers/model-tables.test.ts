import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GEMINI_MODEL_TABLE } from '../../src/providers/gemini/models.js';
import {
  findModel,
  modelStatus,
  replacementFor,
  type ModelLifecycle,
  type ModelTable,
} from '../../src/providers/models.js';
import { OPENAI_MODEL_TABLE } from '../../src/providers/openai/models.js';

/** Model ids of the providers we talk to: Gemini image models, GPT Image, DALL·E. */
const MODEL_ID =
  /\b(gemini-[0-9][\w.-]*image[\w.-]*|gemini-nano-banana[\w.-]*|gpt-image-[\w.-]+|chatgpt-image-[\w-]+|dall-e-\d)\b/g;
/** The only files allowed to name a model: each provider's table. */
const TABLES = new Set(['src/providers/gemini/models.ts', 'src/providers/openai/models.ts']);

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sourceFiles(p)));
    else if (/\.(ts|tsx|js|html|css)$/.test(e.name)) out.push(p);
  }
  return out;
}

describe('model tables', () => {
  it('no model id is written outside the per-provider tables (src/ and web/src/)', async () => {
    const offenders: string[] = [];
    for (const file of [...(await sourceFiles('src')), ...(await sourceFiles('web/src'))]) {
      if (TABLES.has(file.split(path.sep).join('/'))) continue;
      const text = await fs.readFile(file, 'utf8');
      for (const m of text.matchAll(MODEL_ID)) offenders.push(`${file}: ${m[0]}`);
    }
    expect(offenders).toEqual([]);
  });

  it.each<ModelTable<ModelLifecycle>>([GEMINI_MODEL_TABLE, OPENAI_MODEL_TABLE])(
    '$provider: the default is active, every replacement is in the table and leads to a served model',
    (table) => {
      const today = new Date();
      const dflt = findModel(table, table.defaultModel);
      expect(dflt && modelStatus(dflt, today)).toBe('active');
      for (const m of table.models) {
        if (m.replacement) expect(findModel(table, m.replacement), `${m.id} → ${m.replacement}`).toBeDefined();
        const target = findModel(table, replacementFor(table, m.id, today))!;
        expect(modelStatus(target, today), `${m.id} moves to ${target.id}`).not.toBe('shut_down');
      }
      expect(new Set(table.models.map((m) => m.id)).size).toBe(table.models.length);
    },
  );

  it("the live listing's image models include Nano Banana ids, not text or embedding models", () => {
    const image = (id: string) => GEMINI_MODEL_TABLE.isImageModel(id, { id });
    expect(['gemini-nano-banana-2.1', 'gemini-3-pro-image', 'gemini-3.1-flash-lite-image'].every(image)).toBe(true);
    expect(['gemini-3.8-flash', 'gemini-embedding-002', 'gemini-2.5-flash-preview-tts'].some(image)).toBe(false);
  });

  it('the models retired since the tables were written: gpt-image-1 on 2026-10-23, Nano Banana 2 on 2026-10-29 (both sides of each day)', () => {
    const gpt1 = findModel(OPENAI_MODEL_TABLE, 'gpt-image-1')!;
    expect(modelStatus(gpt1, new Date('2026-10-22T23:59:59Z'))).toBe('deprecated');
    expect(modelStatus(gpt1, new Date('2026-10-23T00:00:00Z'))).toBe('shut_down');
    const nb2 = findModel(GEMINI_MODEL_TABLE, 'gemini-3.1-flash-image')!;
    expect(modelStatus(nb2, new Date('2026-10-28T23:59:59Z'))).toBe('deprecated');
    expect(modelStatus(nb2, new Date('2026-10-29T00:00:00Z'))).toBe('shut_down');
    expect(replacementFor(GEMINI_MODEL_TABLE, 'gemini-3.1-flash-image', new Date('2026-10-29T00:00:00Z'))).toBe(
      'gemini-nano-banana-2.1',
    );
    expect(replacementFor(OPENAI_MODEL_TABLE, 'gpt-image-1', new Date('2026-10-23T00:00:00Z'))).toBe(
      'gpt-image-2.6-sunburst',
    );
  });

  it('lifecycle follows the injected day: deprecated before the shutdown date, shut down from it', () => {
    const m = findModel(OPENAI_MODEL_TABLE, 'gpt-image-1.5')!;
    expect(modelStatus(m, new Date('2026-11-30T23:59:59Z'))).toBe('deprecated');
    expect(modelStatus(m, new Date('2026-12-01T00:00:00Z'))).toBe('shut_down');
    // A deprecated replacement is followed to the active one.
    expect(replacementFor(GEMINI_MODEL_TABLE, 'gemini-2.5-flash-image', new Date('2026-11-27T00:00:00Z'))).toBe(
      'gemini-nano-banana-2.1',
    );
  });
});
