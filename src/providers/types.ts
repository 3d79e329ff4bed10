import type { TSchema } from 'typebox';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';

/**
 * The one driver interface every provider implements (docs/architecture.md, docs/providers.md). A driver turns a photo, the slot's
 * settings and its template images into image bytes, or throws a ProviderFailure. It must honour
 * `signal` (aborted at the job deadline or when the job is finalized elsewhere): stop all network
 * calls and return nothing.
 */
export interface ProviderDriver {
  /** Stable id stored in slots and jobs: 'local', 'gemini', 'openai', 'turbotext'. */
  readonly id: string;
  readonly title: string;
  readonly operations: readonly OperationDescriptor[];
  /** Calls this process makes at once to the provider; the worker pool skips its jobs while saturated. */
  readonly maxConcurrency?: number;
  /** The provider fetches inputs by URL: slots on it need PHOTOCHANGER_PUBLIC_BASE_URL. */
  readonly requiresPublicBaseUrl?: boolean;
  /** process() reads the whole photo into memory (and takes InputImage.contents instead when given). */
  readonly readsPhoto?: boolean;
  /**
   * How the admin UI names this provider, its operations, template images, settings and option
   * values, per language (the schemas' own titles and descriptions are the English fallback). They
   * live with the driver, so adding a provider does not touch the UI's dictionary.
   */
  readonly labels?: ProviderLabelSet;
  /** Whether this provider can work right now (key present, base URL set…); shown in the catalog. */
  readiness?(context: ReadinessContext): Promise<ProviderReadiness>;
  process(request: ProviderRequest): Promise<ProviderResult>;
  /**
   * The job's provider work is over (whatever its outcome): withdraw what the driver published for
   * it, such as the temporary public links of its inputs. Called by the worker that ran process();
   * never throws.
   */
  releaseJob?(jobId: string): Promise<void>;
}

/** One language's words for a provider (every entry optional; the UI falls back to the catalog's English). */
export interface ProviderLabels {
  title?: string;
  operations?: Record<string, { title: string; description?: string }>;
  templates?: Record<string, string>;
  /** Top-level settings fields by name. */
  fields?: Record<string, { title: string; description?: string }>;
  /** Values of the settings' enumerations. */
  options?: Record<string, string>;
}

export type ProviderLabelSet = Partial<Record<'en' | 'ru', ProviderLabels>>;

export interface OperationDescriptor {
  id: string;
  title: string;
  description: string;
  /** JSON Schema (TypeBox) of the slot settings for this operation; defaults fill omitted fields. */
  settingsSchema: TSchema;
  /** MIME types of photos this operation accepts (decided on the file's bytes). */
  acceptedMimeTypes: readonly string[];
  /** Largest photo the operation accepts, in bytes (the slot's limit can only be lower). */
  maxInputBytes: number;
  /** Template slots this operation uses: settings keys such as 'frame', 'style', 'face'. */
  templateKeys: readonly TemplateKeyDescriptor[];
  /**
   * Rules the JSON Schema cannot say (e.g. which sizes the chosen model accepts), checked when a
   * slot is saved. Settings arrive schema-valid with defaults applied.
   */
  checkSettings?(settings: Record<string, unknown>, context: SettingsCheckContext): SettingsProblem[];
}

export interface SettingsCheckContext {
  now: Date;
  /** The model ids the provider lists for the configured key, when that list could be had. */
  liveModelIds?: ReadonlySet<string>;
}

/** One rejected setting: a JSON pointer into the settings object and what to do. */
export interface SettingsProblem {
  path: string;
  message: string;
}

export interface TemplateKeyDescriptor {
  key: string;
  title: string;
  required: boolean;
}

export interface ReadinessContext {
  publicBaseUrl: string | undefined;
}

export interface ProviderReadiness {
  configured: boolean;
  /** Machine-readable reason when not configured, e.g. 'provider_not_configured'. */
  reason?: string;
}

export interface InputImage {
  path: string;
  mime: string;
  size: number;
  /** The file's bytes when they are in memory already (read while the job was enqueued); else read `path`. */
  contents?: Buffer;
}

export interface TemplateImage extends InputImage {
  key: string;
  id: string;
}

export interface ProviderRequest {
  jobId: string;
  /** The slot the photo came to (named in messages the operator reads). */
  slotId: string;
  operation: string;
  /** Slot settings, already validated against the operation's schema (defaults applied). */
  settings: Record<string, unknown>;
  photo: InputImage;
  templates: readonly TemplateImage[];
  signal: AbortSignal;
  deadline: Date;
  clock: Clock;
  log: Logger;
  /** Records one call to the provider's API (stored in job.provider_calls and logged). */
  recordCall(call: ProviderCallRecord): void;
  /**
   * Resolves once the job's row is in the queue (a worker may be handed a job while its row is
   * being inserted): sendRequest sends nothing to a provider before, and a driver that writes
   * anything before its first request (links, rows) awaits whenAdmitted first (src/providers/http.ts).
   * Absent: the row is in already.
   */
  ready?: Promise<void>;
}

export interface ProviderResult {
  bytes: Buffer;
  mime: string;
  /** The provider's id for this work (response id, queue id…). */
  providerRef?: string;
}

export interface ProviderCallRecord {
  provider: string;
  model?: string;
  attempt: number;
  durationMs: number;
  outcome: 'success' | 'retry' | 'failure' | 'aborted';
  responseId?: string;
  httpStatus?: number;
  detail?: string;
}

/**
 * A typed provider failure. `reason` is machine-readable (e.g. 'safety_block', 'no_image',
 * 'provider_not_configured', 'rate_limited'); `message` is what the admin reads. It becomes a
 * 502 provider_error with details.reason (and details.message).
 */
export class ProviderFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly options: { retryable?: boolean; httpStatus?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message);
    this.name = 'ProviderFailure';
  }
  get retryable(): boolean {
    return this.options.retryable ?? false;
  }
}
