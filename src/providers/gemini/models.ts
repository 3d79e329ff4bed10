/**
 * The Gemini image models this driver knows, with what each accepts. This table drives the
 * settings schema (gemini/settings.ts), the per-model checks of a slot, the request builder
 * (gemini/driver.ts) and the model catalog the slot editor shows. docs/providers.md says where each
 * fact comes from and how to add a model.
 */
import type { LiveModelEntry, ModelLifecycle, ModelTable } from '../models.js';

export interface GeminiModel extends ModelLifecycle {
  /** `imageConfig.imageSize` values; empty: the model rejects the field (never sent). */
  imageSizes: readonly string[];
  /** `imageConfig.aspectRatio` values. */
  aspectRatios: readonly string[];
  /** `thinkingConfig.thinkingLevel` values; empty: not sent. */
  thinkingLevels: readonly string[];
  /** Input images (the photo and the references) the model takes in one request. */
  maxInputImages: number;
  /** Longest side the photo is ever sent at (see geminiInputSide for the side actually used). */
  inputMaxSide: number;
}

/** The aspect ratios every Gemini image model accepts. */
export const GEMINI_COMMON_ASPECT_RATIOS = [
  '1:1',
  '2:3',
  '3:2',
  '3:4',
  '4:3',
  '4:5',
  '5:4',
  '9:16',
  '16:9',
  '21:9',
] as const;
/** Nano Banana 2 adds very tall and very wide ratios. */
const EXTENDED_ASPECT_RATIOS = [...GEMINI_COMMON_ASPECT_RATIOS, '1:4', '4:1', '1:8', '8:1'] as const;

/** What an id that is only in the live list gets: the common parameters, nothing model-specific. */
export const GEMINI_UNKNOWN_MODEL: Omit<GeminiModel, 'id' | 'title'> = {
  imageSizes: [],
  aspectRatios: GEMINI_COMMON_ASPECT_RATIOS,
  thinkingLevels: [],
  maxInputImages: 3,
  inputMaxSide: 2048,
};

export const GEMINI_MODEL_TABLE: ModelTable<GeminiModel> = {
  provider: 'gemini',
  vendor: 'Google',
  defaultModel: 'gemini-3.1-flash-lite-image',
  sources: [
    { url: 'https://ai.google.dev/gemini-api/docs/models', read: '2026-11-27' },
    { url: 'https://ai.google.dev/gemini-api/docs/image-generation', read: '2026-11-27' },
    { url: 'https://ai.google.dev/gemini-api/docs/deprecations', read: '2026-11-27' },
    { url: 'https://ai.google.dev/gemini-api/docs/changelog', read: '2026-11-27' },
  ],
  models: [
    {
      id: 'gemini-3.1-flash-lite-image',
      title: 'Nano Banana 2 Lite',
      note: '1K only, under 2 s: made for high volume (the booth default)',
      imageSizes: ['1K'],
      aspectRatios: EXTENDED_ASPECT_RATIOS,
      thinkingLevels: ['minimal', 'high'],
      maxInputImages: 14,
      inputMaxSide: 1536,
    },
    {
      id: 'gemini-nano-banana-2.1',
      title: 'Nano Banana 2.1',
      note: 'Successor of Nano Banana 2: 1K–4K, wide and tall ratios',
      imageSizes: ['1K', '2K', '4K'],
      aspectRatios: EXTENDED_ASPECT_RATIOS,
      thinkingLevels: ['minimal', 'high'],
      maxInputImages: 14,
      inputMaxSide: 3072,
    },
    {
      id: 'gemini-3-pro-image',
      title: 'Nano Banana Pro',
      note: 'Highest quality, 1K–4K, slower',
      imageSizes: ['1K', '2K', '4K'],
      aspectRatios: GEMINI_COMMON_ASPECT_RATIOS,
      thinkingLevels: [],
      maxInputImages: 14,
      inputMaxSide: 2048,
    },
    {
      id: 'gemini-3.1-flash-image',
      title: 'Nano Banana 2',
      // Deprecated 2026-10-06; shut down 2026-10-29 per LiteLLM's Nano Banana 2.1 notes (Google's
      // page gave no date); the live listing is the authority either way (docs/providers.md).
      shutdownDate: '2026-10-29',
      replacement: 'gemini-nano-banana-2.1',
      imageSizes: ['512', '1K', '2K', '4K'],
      aspectRatios: EXTENDED_ASPECT_RATIOS,
      thinkingLevels: ['minimal', 'high'],
      maxInputImages: 14,
      inputMaxSide: 2048,
    },
    {
      id: 'gemini-2.5-flash-image',
      title: 'Nano Banana (2.5 Flash Image)',
      shutdownDate: '2026-10-02',
      replacement: 'gemini-nano-banana-2.1',
      imageSizes: [],
      aspectRatios: GEMINI_COMMON_ASPECT_RATIOS,
      thinkingLevels: [],
      maxInputImages: 3,
      inputMaxSide: 1536,
    },
    {
      id: 'gemini-3-pro-image-preview',
      title: 'Nano Banana Pro (preview)',
      preview: true,
      shutdownDate: '2026-06-25',
      replacement: 'gemini-3-pro-image',
      imageSizes: ['1K', '2K', '4K'],
      aspectRatios: GEMINI_COMMON_ASPECT_RATIOS,
      thinkingLevels: [],
      maxInputImages: 14,
      inputMaxSide: 2048,
    },
    {
      id: 'gemini-3.1-flash-image-preview',
      title: 'Nano Banana 2 (preview)',
      preview: true,
      shutdownDate: '2026-06-25',
      replacement: 'gemini-3.1-flash-image',
      imageSizes: ['512', '1K', '2K', '4K'],
      aspectRatios: EXTENDED_ASPECT_RATIOS,
      thinkingLevels: ['minimal', 'high'],
      maxInputImages: 14,
      inputMaxSide: 2048,
    },
  ],
  /** generateContent models that answer images (Imagen models use :predict and are not for editing). */
  isImageModel: (id: string, entry: LiveModelEntry) =>
    (/^gemini-.*image/.test(id) || /nano-banana/.test(id)) && !/-tts|embedding/.test(id) && entry.id === id,
};

/** Every value any known model accepts (the settings schema's enums; per-model checks narrow them). */
export const GEMINI_IMAGE_SIZES = [...new Set(GEMINI_MODEL_TABLE.models.flatMap((m) => m.imageSizes))];
export const GEMINI_ASPECT_RATIOS = [...new Set(GEMINI_MODEL_TABLE.models.flatMap((m) => m.aspectRatios))];
export const GEMINI_THINKING_LEVELS = [...new Set(GEMINI_MODEL_TABLE.models.flatMap((m) => m.thinkingLevels))];

/**
 * The longest side the photo is sent at: the model's working resolution for the requested output
 * (a 1K answer needs no 3000-px input; on a venue's 4G uplink every byte is time), capped by the
 * model's own limit, or the slot's override.
 */
export function geminiInputSide(
  model: GeminiModel,
  imageSize: string | undefined,
  override: number | undefined,
): number {
  if (override !== undefined) return override;
  const forOutput = imageSize === '4K' ? 3072 : imageSize === '2K' ? 2048 : 1536;
  return Math.min(model.inputMaxSide, forOutput);
}

/** The capabilities of a model id: the table's entry, or the common parameters for an id it does not know. */
export function geminiCapabilities(id: string): GeminiModel {
  return GEMINI_MODEL_TABLE.models.find((m) => m.id === id) ?? { id, title: id, ...GEMINI_UNKNOWN_MODEL };
}
