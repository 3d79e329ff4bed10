/**
 * The slot API's schemas (TypeBox): the request and response shapes of src/slots/routes.ts and
 * src/slots/templates.ts, and the OpenAPI document's. The API types are derived from them.
 */
import { Type, type Static } from 'typebox';
import { LiteralUnion, SLOT_ID_PATTERN } from '../schemas.js';

/** Largest template image accepted (templates are frames/backgrounds, not photos). */
export const MAX_TEMPLATE_BYTES = 20 * 1024 * 1024;
export const PREVIEW_SIDE = 320;
/** Template images: formats every provider and sharp compose handle. */
export const TEMPLATE_MIME_TYPES = ['image/jpeg', 'image/png', 'image/webp'];

export const SlotId = Type.Object({ id: Type.String({ pattern: SLOT_ID_PATTERN }) });
export const FailoverSchema = Type.Object(
  {
    steps: Type.Array(
      Type.Object(
        {
          provider: Type.String({ minLength: 1, maxLength: 50 }),
          operation: Type.String({ minLength: 1, maxLength: 50 }),
          settings: Type.Record(Type.String(), Type.Unknown()),
        },
        { additionalProperties: false },
      ),
      {
        maxItems: 10,
        description:
          "Providers to try, in order, when the slot's own fails (at most 3), each with its own operation and settings",
      },
    ),
    on_safety: Type.Boolean({ description: 'Also fail over when a provider refuses the photo for safety reasons' }),
  },
  { additionalProperties: false },
);
export const TemplateSchema = Type.Object({
  id: Type.String(),
  key: Type.String(),
  mime: Type.String(),
  size: Type.Integer(),
  width: Type.Union([Type.Integer(), Type.Null()]),
  height: Type.Union([Type.Integer(), Type.Null()]),
  url: Type.String(),
  preview_url: Type.String(),
  created_at: Type.String(),
});
export const SlotSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  enabled: Type.Boolean(),
  provider: Type.String(),
  operation: Type.String(),
  settings: Type.Record(Type.String(), Type.Unknown()),
  max_upload_bytes: Type.Union([Type.Integer(), Type.Null()]),
  ingest_url: Type.String(),
  templates: Type.Array(TemplateSchema),
  provider_configured: Type.Boolean(),
  provider_reason: Type.Optional(Type.String()),
  model: Type.Optional(
    Type.Object({
      id: Type.String(),
      title: Type.String(),
      status: Type.Union([Type.Literal('active'), Type.Literal('deprecated'), Type.Literal('shut_down')]),
      known: Type.Boolean(),
      shutdown_date: Type.Optional(Type.String()),
      replacement: Type.Optional(Type.String()),
      available: Type.Optional(
        Type.Literal(false, {
          description:
            "The key's live model list no longer offers this model: its booth jobs fail at once (model_unavailable); move to `replacement`",
        }),
      ),
    }),
  ),
  notice: Type.Optional(
    Type.Object({
      kind: Type.Literal('model_migrated'),
      from: Type.String(),
      to: Type.String(),
      dropped: Type.Array(Type.String()),
      at: Type.String(),
    }),
  ),
  failover: FailoverSchema,
  last_activity_at: Type.Union([Type.String(), Type.Null()]),
  today: Type.Object({ succeeded: Type.Integer(), failed: Type.Integer() }),
  recent_wrong_passwords: Type.Integer({
    description:
      'Booth requests refused for a wrong password in the current and the previous hour (a booth still using an old password)',
  }),
  guest_qr: Type.Object(
    {
      enabled: Type.Boolean({ description: "The slot's settings ask for the guest QR code on the print" }),
      state: LiteralUnion(['off', 'public', 'local_only', 'left_off'], {
        description:
          'off: not asked; public: printed with the public address; local_only: printed with this machine’s network address (phones on this network only); left_off: no address guests can reach is known, prints come out without it',
      }),
      base_url: Type.Union([Type.String(), Type.Null()], { description: 'The address the QR code links to' }),
      address: LiteralUnion(['public', 'local_only', 'none'], {
        description:
          'The address guests would get, asked for or not (the editor shows it as the QR code is switched on)',
      }),
    },
    { description: 'Whether the guest QR code is printed, and where it points (src/ops/public-address.ts)' },
  ),
  updated_at: Type.String(),
});
export const SlotUpdateSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    enabled: Type.Boolean(),
    provider: Type.String({ minLength: 1, maxLength: 50 }),
    operation: Type.String({ minLength: 1, maxLength: 50 }),
    settings: Type.Record(Type.String(), Type.Unknown()),
    max_upload_bytes: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
    failover: Type.Optional(FailoverSchema),
    updated_at: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);
export const TimingsSchema = Type.Object({
  queue_wait_ms: Type.Union([Type.Number(), Type.Null()]),
  processing_ms: Type.Union([Type.Number(), Type.Null()]),
  total_ms: Type.Union([Type.Number(), Type.Null()]),
});
export const TestRunSchema = Type.Object({
  job_id: Type.String(),
  outcome: LiteralUnion(['succeeded', 'timeout', 'provider_error', 'cancelled', 'internal_error']),
  error: Type.Optional(
    Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  ),
  timings: TimingsSchema,
  result_url: Type.Optional(Type.String()),
  result_mime: Type.Optional(Type.String()),
});

/** A slot as the API sends it. */
export type SlotApiView = Static<typeof SlotSchema>;
/** A template image as the API sends it. */
export type TemplateApiView = Static<typeof TemplateSchema>;
/** The body of PUT /api/slots/:id. */
export type SlotUpdateBody = Static<typeof SlotUpdateSchema>;

/** GET /api/slots. */
export const SlotListSchema = Type.Object({
  slots: Type.Array(SlotSchema),
  public_base: Type.Object({
    url: Type.Union([Type.String(), Type.Null()]),
    source: Type.Union([Type.Literal('configured'), Type.Literal('lan'), Type.Literal('none')]),
  }),
  last_results: Type.Record(
    Type.String(),
    Type.Object({ id: Type.String(), thumb_url: Type.String(), finalized_at: Type.String() }),
    {
      description: "Each slot's newest live result (its card's thumbnail), by slot id; slots without one are absent",
    },
  ),
});

/** POST /api/slots/:id/switch-model. */
export const SwitchModelSchema = Type.Object(
  {
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);
