import { Type, type Static } from 'typebox';
import { OutputSettingsSchema } from '../../media/imaging.js';
import { checkModelChoice } from '../models.js';
import type { SettingsCheckContext, SettingsProblem } from '../types.js';
import {
  GEMINI_ASPECT_RATIOS,
  GEMINI_IMAGE_SIZES,
  GEMINI_MODEL_TABLE,
  GEMINI_THINKING_LEVELS,
  geminiCapabilities,
} from './models.js';

export const GEMINI_SAFETY_THRESHOLDS = [
  'BLOCK_NONE',
  'BLOCK_ONLY_HIGH',
  'BLOCK_MEDIUM_AND_ABOVE',
  'BLOCK_LOW_AND_ABOVE',
  'OFF',
] as const;
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
    model: Type.String({
      minLength: 1,
      maxLength: 100,
      pattern: '^[a-z0-9][a-z0-9.\\-]*$',
      default: GEMINI_MODEL_TABLE.defaultModel,
      description: 'Gemini image model (the catalog lists the models this key can use).',
    }),
    prompt: Type.String({
      minLength: 1,
      maxLength: GEMINI_PROMPT_MAX_LENGTH,
      description: 'What to do with the photo (templates are given after the photo).',
    }),
    aspect_ratio: Type.Optional(
      literals(GEMINI_ASPECT_RATIOS, { description: 'Output aspect ratio; omitted: the model follows the photo.' }),
    ),
    image_size: Type.Optional(
      literals(GEMINI_IMAGE_SIZES, {
        description: 'Output size, where the model offers a choice. Larger sizes answer slower.',
      }),
    ),
    thinking_level: Type.Optional(
      literals(GEMINI_THINKING_LEVELS, {
        description: 'How much the model reasons before drawing, where it offers a choice ("high" is slower).',
      }),
    ),
    safety_threshold: Type.Optional(
      literals(GEMINI_SAFETY_THRESHOLDS, {
        description: 'Blocking threshold applied to the harassment, hate, sexual and dangerous categories.',
      }),
    ),
    input_max_side: Type.Optional(
      Type.Integer({
        minimum: 512,
        maximum: 4096,
        description:
          "Longest side the photo is sent at. Default: the model's working size for the output size (1536 px for 1K, 2048 for 2K, 3072 for 4K).",
      }),
    ),
    output: Type.Optional(OutputSettingsSchema),
  },
  { additionalProperties: false },
);

export type GeminiEditSettings = Static<typeof GeminiEditSettingsSchema>;

/** The per-model rules the schema cannot say: sizes, ratios and thinking levels the chosen model takes. */
export function checkGeminiSettings(settings: GeminiEditSettings, context: SettingsCheckContext): SettingsProblem[] {
  const problems = checkModelChoice(GEMINI_MODEL_TABLE, settings.model, context);
  const caps = geminiCapabilities(settings.model);
  const choice = (path: string, value: string | undefined, offered: readonly string[], none: string) => {
    if (value === undefined || offered.includes(value)) return;
    const message = offered.length ? `${settings.model} offers ${offered.join(', ')}` : `${settings.model} ${none}`;
    problems.push({ path, message });
  };
  choice('/image_size', settings.image_size, caps.imageSizes, 'has no size choice: leave it empty');
  choice('/aspect_ratio', settings.aspect_ratio, caps.aspectRatios, 'has no aspect ratio choice: leave it empty');
  choice('/thinking_level', settings.thinking_level, caps.thinkingLevels, 'has no thinking level: leave it empty');
  return problems;
}
