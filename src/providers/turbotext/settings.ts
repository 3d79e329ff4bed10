import { Type, type Static } from 'typebox';
import { OutputSettingsSchema } from '../../media/imaging.js';

export const TURBOTEXT_PROMPT_MAX_LENGTH = 2000;

/**
 * How the result comes back: `poll` (get_result every 1–2 s until the deadline) or `webhook`
 * (Turbotext POSTs it to /webhooks/turbotext/{token} on this server; needs the public base URL to
 * be reachable from Turbotext, like the input links).
 */
const Delivery = Type.Union([Type.Literal('poll'), Type.Literal('webhook')], { default: 'poll' });

export const Image2ImageSettingsSchema = Type.Object(
  {
    prompt: Type.String({ minLength: 1, maxLength: TURBOTEXT_PROMPT_MAX_LENGTH, description: 'Sent as `content`.' }),
    strength: Type.Optional(Type.Integer({ minimum: 0, maximum: 80, description: 'How far from the photo (0–80).' })),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647 })),
    scale: Type.Optional(Type.Number({ minimum: 0.1, maximum: 20 })),
    negative_prompt: Type.Optional(Type.String({ maxLength: TURBOTEXT_PROMPT_MAX_LENGTH })),
    original_language: Type.Optional(
      Type.String({ pattern: '^[a-z]{2}$', description: 'Language of the prompt, e.g. ru or en.' }),
    ),
    delivery: Delivery,
    output: Type.Optional(OutputSettingsSchema),
  },
  { additionalProperties: false },
);

export const MixImagesSettingsSchema = Type.Object(
  {
    prompt: Type.String({ minLength: 1, maxLength: TURBOTEXT_PROMPT_MAX_LENGTH, description: 'Sent as `content`.' }),
    delivery: Delivery,
    output: Type.Optional(OutputSettingsSchema),
  },
  { additionalProperties: false },
);

export const DeepfakePhotoSettingsSchema = Type.Object(
  {
    face_restore: Type.Boolean({ default: true, description: 'Let Turbotext restore the swapped face.' }),
    swap_roles: Type.Boolean({
      default: false,
      description:
        "Send the roles the other way round: the photo as `url` and the template as `url_image_target`. Off (default), as a public copy of Turbotext's method docs reads them: `url` is the person whose face is replaced (the template), `url_image_target` the face to use (the guest's photo). No official page settles it: if a test run puts the template's face on the guest, turn this on.",
    }),
    delivery: Delivery,
    output: Type.Optional(OutputSettingsSchema),
  },
  { additionalProperties: false },
);

export type Image2ImageSettings = Static<typeof Image2ImageSettingsSchema>;
export type MixImagesSettings = Static<typeof MixImagesSettingsSchema>;
export type DeepfakePhotoSettings = Static<typeof DeepfakePhotoSettingsSchema>;
