/**
 * The GPT Image models this driver knows, with what each accepts on `POST /v1/images/edits`. The
 * table drives the settings schema (openai/settings.ts), the per-model checks of a slot, the
 * request builder (openai/driver.ts) and the catalog the slot editor shows. docs/providers.md says
 * where each fact comes from and how to add a model.
 */
import type { LiveModelEntry, ModelLifecycle, ModelTable } from '../models.js';

export interface OpenAIModel extends ModelLifecycle {
  /** Any WIDTHxHEIGHT (sides multiples of 16, ratio within 1:3–3:1, at most 3840x2160) besides the standard sizes. */
  flexibleSize: boolean;
  /** `background` values; transparent needs png or webp output. */
  backgrounds: readonly string[];
  /** `input_fidelity` values; empty: the model decides (never sent). */
  inputFidelities: readonly string[];
  /** Images (the photo and the references) accepted in one edit. */
  maxInputImages: number;
  /** Longest side the photo is scaled to before upload. */
  inputMaxSide: number;
}

/** Sizes every GPT Image model accepts. */
export const OPENAI_STANDARD_SIZES = ['auto', '1024x1024', '1536x1024', '1024x1536'] as const;
export const OPENAI_QUALITIES = ['auto', 'low', 'medium', 'high'] as const;
export const OPENAI_OUTPUT_FORMATS = ['png', 'jpeg', 'webp'] as const;
/**
 * Flexible sizes (gpt-image-2 and later), as the API checks them: both edges multiples of 16, the
 * longer at most 3840, the ratio within 1:3–3:1, and between 655,360 and 8,294,400 pixels in all
 * (docs/providers.md: OpenAI's image-generation guide names the edge, multiple and ratio rules;
 * the pixel budget and floor are measured by others and match the API's refusals).
 */
export const OPENAI_FLEXIBLE_SIZE = {
  multipleOf: 16,
  maxEdge: 3840,
  maxRatio: 3,
  minPixels: 655_360,
  maxPixels: 8_294_400,
} as const;

const GPT_IMAGE_2_FAMILY = { flexibleSize: true, inputFidelities: [], maxInputImages: 16, inputMaxSide: 2048 } as const;
const GPT_IMAGE_1_FAMILY = {
  flexibleSize: false,
  backgrounds: ['auto', 'opaque', 'transparent'],
  maxInputImages: 16,
  inputMaxSide: 2048,
} as const;
const RETIRED_2026_12_01 = { shutdownDate: '2026-12-01', replacement: 'gpt-image-2.6-sunburst' } as const;

/** What an id that is only in the live list gets: the common parameters. */
export const OPENAI_UNKNOWN_MODEL: Omit<OpenAIModel, 'id' | 'title'> = {
  flexibleSize: false,
  backgrounds: ['auto', 'opaque'],
  inputFidelities: [],
  maxInputImages: 16,
  inputMaxSide: 2048,
};

export const OPENAI_MODEL_TABLE: ModelTable<OpenAIModel> = {
  provider: 'openai',
  vendor: 'OpenAI',
  defaultModel: 'gpt-image-2',
  sources: [
    { url: 'https://developers.openai.com/api/docs/models/gpt-image-2', read: '2026-11-27' },
    { url: 'https://developers.openai.com/api/reference/resources/images/methods/edit', read: '2026-11-27' },
    { url: 'https://developers.openai.com/api/docs/deprecations', read: '2026-11-27' },
    { url: 'third-party deprecation trackers (gpt-image-1 shut down 2026-10-23)', read: '2026-12-07' },
  ],
  models: [
    {
      id: 'gpt-image-2',
      title: 'GPT Image 2',
      note: 'Since 2026-04; transparent background not offered (preview only)',
      backgrounds: ['auto', 'opaque'],
      ...GPT_IMAGE_2_FAMILY,
    },
    {
      id: 'gpt-image-2.6-sunburst',
      title: 'GPT Image 2.6 Sunburst',
      backgrounds: ['auto', 'opaque', 'transparent'],
      ...GPT_IMAGE_2_FAMILY,
    },
    {
      id: 'gpt-image-2.6-flare',
      title: 'GPT Image 2.6 Flare',
      backgrounds: ['auto', 'opaque', 'transparent'],
      ...GPT_IMAGE_2_FAMILY,
    },
    {
      id: 'gpt-image-2.5-sunburst',
      title: 'GPT Image 2.5 Sunburst',
      backgrounds: ['auto', 'opaque', 'transparent'],
      ...GPT_IMAGE_2_FAMILY,
    },
    {
      id: 'gpt-image-2.5-flare',
      title: 'GPT Image 2.5 Flare',
      backgrounds: ['auto', 'opaque', 'transparent'],
      ...GPT_IMAGE_2_FAMILY,
    },
    // Shut down on 2026-10-23 according to third-party deprecation trackers (OpenAI's page named no
    // date); the live listing is the authority either way (docs/providers.md).
    {
      id: 'gpt-image-1',
      title: 'GPT Image 1',
      inputFidelities: ['low', 'high'],
      ...GPT_IMAGE_1_FAMILY,
      shutdownDate: '2026-10-23',
      replacement: 'gpt-image-2.6-sunburst',
    },
    {
      id: 'gpt-image-1.5',
      title: 'GPT Image 1.5',
      inputFidelities: ['low', 'high'],
      ...GPT_IMAGE_1_FAMILY,
      ...RETIRED_2026_12_01,
    },
    {
      id: 'gpt-image-1-mini',
      title: 'GPT Image 1 mini',
      inputFidelities: [],
      ...GPT_IMAGE_1_FAMILY,
      ...RETIRED_2026_12_01,
    },
    {
      id: 'chatgpt-image-latest',
      title: 'ChatGPT Image (latest)',
      inputFidelities: ['low', 'high'],
      ...GPT_IMAGE_1_FAMILY,
      ...RETIRED_2026_12_01,
    },
  ],
  /** GPT Image models (DALL·E is shut down; other ids in GET /v1/models are text, audio, embeddings…). */
  isImageModel: (id: string, _entry: LiveModelEntry) => /^(gpt-image-|chatgpt-image-)/.test(id),
};

export const OPENAI_BACKGROUNDS = [...new Set(OPENAI_MODEL_TABLE.models.flatMap((m) => m.backgrounds))];
export const OPENAI_INPUT_FIDELITIES = [...new Set(OPENAI_MODEL_TABLE.models.flatMap((m) => m.inputFidelities))];

export function openaiCapabilities(id: string): OpenAIModel {
  return OPENAI_MODEL_TABLE.models.find((m) => m.id === id) ?? { id, title: id, ...OPENAI_UNKNOWN_MODEL };
}

/** Why a size is not accepted by a model, or undefined when it is. */
export function openaiSizeProblem(model: OpenAIModel, size: string): string | undefined {
  if ((OPENAI_STANDARD_SIZES as readonly string[]).includes(size)) return undefined;
  if (!model.flexibleSize) return `${model.id} offers ${OPENAI_STANDARD_SIZES.join(', ')}`;
  const m = /^(\d{3,4})x(\d{3,4})$/.exec(size);
  if (!m) return 'Write the size as WIDTHxHEIGHT, e.g. 1536x1024';
  const [w, h] = [Number(m[1]), Number(m[2])];
  const f = OPENAI_FLEXIBLE_SIZE;
  if (w % f.multipleOf || h % f.multipleOf) return `Both sides must be multiples of ${f.multipleOf}`;
  if (Math.max(w, h) > f.maxEdge) return `Each side at most ${f.maxEdge} px`;
  if (Math.max(w, h) / Math.min(w, h) > f.maxRatio)
    return `The ratio must be within 1:${f.maxRatio} and ${f.maxRatio}:1`;
  if (w * h < f.minPixels)
    return `At least ${f.minPixels.toLocaleString('en')} pixels in all (e.g. 1024x640); ${w}x${h} is ${(w * h).toLocaleString('en')}`;
  if (w * h > f.maxPixels)
    return `At most ${f.maxPixels.toLocaleString('en')} pixels in all (e.g. 3840x2160); ${w}x${h} is ${(w * h).toLocaleString('en')}`;
  return undefined;
}
