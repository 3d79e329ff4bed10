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
  if (settings.image_size !== undefined && !caps.imageSizes.includes(settings.image_size)) {
    problems.push({
      path: '/image_size',
      message: caps.imageSizes.length
        ? `${settings.model} offers ${caps.imageSizes.join(', ')}`
        : `${settings.model} has no size choice: leave it empty`,
    });
  }
  if (settings.aspect_ratio !== undefined && !caps.aspectRatios.includes(settings.aspect_ratio)) {
    problems.push({ path: '/aspect_ratio', message: `${settings.model} offers ${caps.aspectRatios.join(', ')}` });
  }
  if (settings.thinking_level !== undefined && !caps.thinkingLevels.includes(settings.thinking_level)) {
    problems.push({
      path: '/thinking_level',
      message: caps.thinkingLevels.length
        ? `${settings.model} offers ${caps.thinkingLevels.join(', ')}`
        : `${settings.model} has no thinking level: leave it empty`,
    });
  }
  return problems;
}
