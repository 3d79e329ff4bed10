import { Type, type Static } from 'typebox';
import { OutputSettingsSchema } from '../imaging.js';

export const OPENAI_IMAGE_MODELS = ['gpt-image-1', 'gpt-image-1.5'] as const;
/** Models that accept `input_fidelity`; for the others the setting is dropped. */
export const OPENAI_MODELS_WITH_INPUT_FIDELITY: readonly string[] = ['gpt-image-1'];
export const OPENAI_SIZES = ['auto', '1024x1024', '1536x1024', '1024x1536'] as const;
export const OPENAI_QUALITIES = ['auto', 'low', 'medium', 'high'] as const;
export const OPENAI_OUTPUT_FORMATS = ['png', 'jpeg', 'webp'] as const;
export const OPENAI_BACKGROUNDS = ['auto', 'opaque', 'transparent'] as const;
export const OPENAI_PROMPT_MAX_LENGTH = 32_000;

const literals = <T extends string>(values: readonly T[], options: Record<string, unknown> = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );

export const OpenAIEditSettingsSchema = Type.Object(
  {
    model: literals(OPENAI_IMAGE_MODELS, { default: 'gpt-image-1', description: 'GPT Image model.' }),
    prompt: Type.String({ minLength: 1, maxLength: OPENAI_PROMPT_MAX_LENGTH, description: 'What to do with the photo (templates follow the photo).' }),
    size: literals(OPENAI_SIZES, { default: 'auto' }),
    quality: literals(OPENAI_QUALITIES, {
      default: 'medium',
      description: 'Higher quality is slower (calls take 15–60 s): keep T_sync_response at its upper end.',
    }),
    output_format: literals(OPENAI_OUTPUT_FORMATS, { default: 'jpeg' }),
    output_compression: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'jpeg/webp only.' })),
    background: Type.Optional(literals(OPENAI_BACKGROUNDS)),
    input_fidelity: Type.Optional(literals(['low', 'high'] as const, { description: 'gpt-image-1 only: high keeps faces closer.' })),
    output: Type.Optional(OutputSettingsSchema),
  },
  { additionalProperties: false },
);

export type OpenAIEditSettings = Static<typeof OpenAIEditSettingsSchema>;
