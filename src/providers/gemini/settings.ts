import { Type, type Static } from 'typebox';
import { OutputSettingsSchema } from '../imaging.js';

export const GEMINI_MODELS = ['gemini-2.5-flash-image', 'gemini-3-pro-image-preview'] as const;
export type GeminiModel = (typeof GEMINI_MODELS)[number];
/** Models that accept `imageConfig.imageSize`; for the others the setting is dropped. */
export const GEMINI_MODELS_WITH_IMAGE_SIZE: readonly string[] = ['gemini-3-pro-image-preview'];

export const GEMINI_ASPECT_RATIOS = ['1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', '21:9'] as const;
export const GEMINI_IMAGE_SIZES = ['1K', '2K', '4K'] as const;
export const GEMINI_SAFETY_THRESHOLDS = ['BLOCK_NONE', 'BLOCK_ONLY_HIGH', 'BLOCK_MEDIUM_AND_ABOVE', 'BLOCK_LOW_AND_ABOVE', 'OFF'] as const;
export const GEMINI_HARM_CATEGORIES = [
  'HARM_CATEGORY_HARASSMENT',
  'HARM_CATEGORY_HATE_SPEECH',
  'HARM_CATEGORY_SEXUALLY_EXPLICIT',
  'HARM_CATEGORY_DANGEROUS_CONTENT',
] as const;
export const GEMINI_PROMPT_MAX_LENGTH = 8000;

const literals = <T extends string>(values: readonly T[], options: Record<string, unknown> = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );

export const GeminiEditSettingsSchema = Type.Object(
  {
    model: literals(GEMINI_MODELS, { default: 'gemini-2.5-flash-image', description: 'Gemini image model.' }),
    prompt: Type.String({ minLength: 1, maxLength: GEMINI_PROMPT_MAX_LENGTH, description: 'What to do with the photo (templates are given after the photo).' }),
    aspect_ratio: Type.Optional(literals(GEMINI_ASPECT_RATIOS, { description: 'Output aspect ratio; omitted: the model follows the photo.' })),
    image_size: Type.Optional(
      literals(GEMINI_IMAGE_SIZES, { description: 'Output size, gemini-3-pro-image-preview only (ignored for 2.5). 4K answers slower.' }),
    ),
    safety_threshold: Type.Optional(
      literals(GEMINI_SAFETY_THRESHOLDS, { description: 'Blocking threshold applied to the harassment, hate, sexual and dangerous categories.' }),
    ),
    output: Type.Optional(OutputSettingsSchema),
  },
  { additionalProperties: false },
);

export type GeminiEditSettings = Static<typeof GeminiEditSettingsSchema>;
