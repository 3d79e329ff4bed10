/**
 * What the real Gemini and OpenAI APIs serve (read from their documentation on 2026-11-27 and
 * 2026-12-07; docs/providers.md lists the pages), written here independently of the driver's
 * tables in src/providers/{gemini,openai}/models.ts so that a fake catches a table that drifts from
 * the API. A model with a shutdown date is served and listed until that day and answered 404 from
 * it on, by the fake's clock (real time unless a test fixes a date for everything it starts).
 */

/** Whether a model with this shutdown date is still served at `now`. */
export function servedAt(shutdownDate: string | null | undefined, now: Date): boolean {
  return !shutdownDate || now.getTime() < Date.parse(`${shutdownDate}T00:00:00Z`);
}

/** Gemini image models that answer generateContent, with the imageConfig values each accepts. */
export const GEMINI_SERVED: Record<
  string,
  { imageSizes: string[]; extendedRatios: boolean; thinking: boolean; shutdownDate?: string }
> = {
  'gemini-3.1-flash-lite-image': { imageSizes: ['1K'], extendedRatios: true, thinking: true },
  'gemini-nano-banana-2.1': { imageSizes: ['1K', '2K', '4K'], extendedRatios: true, thinking: true },
  'gemini-3-pro-image': { imageSizes: ['1K', '2K', '4K'], extendedRatios: false, thinking: false },
  // Deprecated on 2026-10-06; shut down on 2026-10-29 (LiteLLM's Nano Banana 2.1 notes; Google's
  // deprecations page gave no date): served before, 404 NOT_FOUND from then on.
  'gemini-3.1-flash-image': {
    imageSizes: ['512', '1K', '2K', '4K'],
    extendedRatios: true,
    thinking: true,
    shutdownDate: '2026-10-29',
  },
};
/** Shut down: generateContent answers 404 NOT_FOUND. */
export const GEMINI_RETIRED = [
  'gemini-2.5-flash-image',
  'gemini-3-pro-image-preview',
  'gemini-3.1-flash-image-preview',
  'gemini-2.5-flash-image-preview',
];
/** Other models the listing returns (text, embeddings): never offered for images. */
export const GEMINI_OTHER_LISTED = [
  { id: 'gemini-3.8-flash', methods: ['generateContent', 'countTokens'] },
  { id: 'gemini-embedding-002', methods: ['embedContent'] },
  { id: 'imagen-5.0-generate-001', methods: ['predict'] },
];
export const GEMINI_EXTENDED_RATIOS = ['1:4', '4:1', '1:8', '8:1'];

/** The exact answer of generateContent for a model id the API does not serve. */
export function geminiModelNotFound(model: string): { code: number; message: string; status: string } {
  return {
    code: 404,
    message: `models/${model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`,
    status: 'NOT_FOUND',
  };
}

/** OpenAI GPT Image models served today, with what each accepts on images/edits. */
export const OPENAI_SERVED: Record<
  string,
  { flexibleSize: boolean; transparent: boolean; inputFidelity: boolean; shutdownDate: string | null }
> = {
  'gpt-image-2': { flexibleSize: true, transparent: false, inputFidelity: false, shutdownDate: null },
  'gpt-image-2.5-flare': { flexibleSize: true, transparent: true, inputFidelity: false, shutdownDate: null },
  'gpt-image-2.5-sunburst': { flexibleSize: true, transparent: true, inputFidelity: false, shutdownDate: null },
  'gpt-image-2.6-flare': { flexibleSize: true, transparent: true, inputFidelity: false, shutdownDate: null },
  'gpt-image-2.6-sunburst': { flexibleSize: true, transparent: true, inputFidelity: false, shutdownDate: null },
  // Shut down on 2026-10-23 (third-party deprecation trackers; OpenAI's page listed no date).
  'gpt-image-1': { flexibleSize: false, transparent: true, inputFidelity: true, shutdownDate: '2026-10-23' },
  // Shut down on 2026-12-01 (deprecations page); until then served and listed with their date.
  'gpt-image-1.5': { flexibleSize: false, transparent: true, inputFidelity: true, shutdownDate: '2026-12-01' },
  'gpt-image-1-mini': { flexibleSize: false, transparent: true, inputFidelity: false, shutdownDate: '2026-12-01' },
};
export const OPENAI_RETIRED = ['dall-e-3', 'dall-e-2'];
export const OPENAI_OTHER_LISTED = ['gpt-5.5', 'text-embedding-3-large', 'whisper-1'];

export function openaiModelNotFound(model: string): { message: string; type: string; param: null; code: string } {
  return {
    message: `The model \`${model}\` does not exist or you do not have access to it.`,
    type: 'invalid_request_error',
    param: null,
    code: 'model_not_found',
  };
}
