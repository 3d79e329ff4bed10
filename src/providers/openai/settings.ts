import { Type, type Static } from 'typebox';
import { OutputSettingsSchema } from '../../media/imaging.js';
import { checkModelChoice } from '../models.js';
import type { SettingsCheckContext, SettingsProblem } from '../types.js';
import {
  OPENAI_BACKGROUNDS,
  OPENAI_INPUT_FIDELITIES,
  OPENAI_MODEL_TABLE,
  OPENAI_OUTPUT_FORMATS,
  OPENAI_QUALITIES,
  openaiCapabilities,
  openaiSizeProblem,
} from './models.js';

export const OPENAI_PROMPT_MAX_LENGTH = 32_000;

const literals = <T extends string>(values: readonly T[], options: Record<string, unknown> = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );

export const OpenAIEditSettingsSchema = Type.Object(
  {
    model: Type.String({
      minLength: 1,
      maxLength: 100,
      pattern: '^[a-z0-9][a-z0-9.\\-]*$',
      default: OPENAI_MODEL_TABLE.defaultModel,
      description: 'GPT Image model (the catalog lists the models this key can use).',
    }),
    prompt: Type.String({
      minLength: 1,
      maxLength: OPENAI_PROMPT_MAX_LENGTH,
      description: 'What to do with the photo (templates follow the photo).',
    }),
    size: Type.String({
      default: 'auto',
      pattern: '^(auto|[0-9]{3,4}x[0-9]{3,4})$',
      description:
        'auto, 1024x1024, 1536x1024, 1024x1536; GPT Image 2 and later also any WIDTHxHEIGHT in multiples of 16 up to 3840x2160.',
    }),
    quality: literals(OPENAI_QUALITIES, {
      default: 'medium',
      description: 'Higher quality is slower (calls take 15–60 s): keep T_sync_response at its upper end.',
    }),
    output_format: literals(OPENAI_OUTPUT_FORMATS, { default: 'jpeg' }),
    output_compression: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'jpeg/webp only.' })),
    background: Type.Optional(
      literals(OPENAI_BACKGROUNDS, {
        description: 'transparent needs png or webp output, and a model that offers it.',
      }),
    ),
    input_fidelity: Type.Optional(
      literals(OPENAI_INPUT_FIDELITIES, {
        description: 'GPT Image 1 / 1.5 only (later models decide themselves): high keeps faces closer.',
      }),
    ),
    output: Type.Optional(OutputSettingsSchema),
  },
  { additionalProperties: false },
);

export type OpenAIEditSettings = Static<typeof OpenAIEditSettingsSchema>;

/** The per-model rules the schema cannot say. */
export function checkOpenAISettings(settings: OpenAIEditSettings, context: SettingsCheckContext): SettingsProblem[] {
  const problems = checkModelChoice(OPENAI_MODEL_TABLE, settings.model, context);
  const caps = openaiCapabilities(settings.model);
  const sizeProblem = openaiSizeProblem(caps, settings.size);
  if (sizeProblem) problems.push({ path: '/size', message: sizeProblem });
  if (settings.background !== undefined && !caps.backgrounds.includes(settings.background)) {
    problems.push({ path: '/background', message: `${settings.model} offers ${caps.backgrounds.join(', ')}` });
  }
  if (settings.background === 'transparent' && settings.output_format === 'jpeg') {
    problems.push({ path: '/background', message: 'A transparent background needs png or webp output' });
  }
  if (settings.input_fidelity !== undefined && !caps.inputFidelities.includes(settings.input_fidelity)) {
    problems.push({
      path: '/input_fidelity',
      message: `${settings.model} chooses its input fidelity itself: leave it empty`,
    });
  }
  return problems;
}
