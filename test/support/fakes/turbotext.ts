/**
 * Fake Turbotext (`POST /api_ai/{method}`, form-encoded, bearer key): `do=create_queue` really
 * downloads every URL it is given (url, url_image_target) like Turbotext does — a link that
 * answers 404/410 turns the job into `{"success":false,"error":"url_error"}` — then `do=get_result`
 * plays the behaviour chosen at creation (reconnects, result, failure, 5xx mid-polling), or, with
 * `webhook=<url>`, answers `asyncid` and POSTs the final JSON to the webhook (possibly late or twice).
 * Results are served at `/download.php?f=…` (and `/missing.php` answers 404).
 */
import { BehaviourQueue, startFakeServer, RESULT_JPEG, type FakeServer } from './common.js';

export type UploadedImagePlacement =
  'top' | 'data' | 'relative' | 'data_image_only' | 'data_image_relative' | 'missing_file';

export type TurbotextBehaviour =
  | {
      kind: 'result';
      /** `reconnect` answers before the result. */
      reconnects?: number;
      /** 5xx answers to get_result after the first reconnect. */
      midPollErrors?: number;
      uploaded?: UploadedImagePlacement;
      forbiddenContent?: boolean;
      /** Webhook mode: delay before the POST, and how many times it is sent. */
      webhookDelayMs?: number;
      webhookCopies?: number;
    }
  | { kind: 'reconnect_forever' }
  | { kind: 'fail'; error: string; reconnects?: number; webhookDelayMs?: number }
  /** create_queue answers only after `delayMs`. */
  | { kind: 'slow_create'; delayMs: number }
  | { kind: 'create_error'; status: number };

export interface FakeDownload {
  url: string;
  field: string;
  status: number | 'error';
  size: number;
}

export interface FakeTurbotextJob {
  id: number;
  method: string;
  fields: Record<string, string>;
  downloads: FakeDownload[];
  polls: number;
  behaviour: TurbotextBehaviour;
  webhookDeliveries: { status: number | 'error'; at: number }[];
}

export interface TurbotextFake extends FakeServer {
  readonly apiKey: string;
  jobs: FakeTurbotextJob[];
  setBehaviour(b: TurbotextBehaviour | readonly TurbotextBehaviour[]): void;
  /** Resolves when every scheduled webhook POST has been attempted. */
  webhooksSettled(): Promise<void>;
}

const METHODS = ['generate_image2image', 'mix_images', 'deepfake_photo'];
const URL_FIELDS = ['url', 'url_image_target'];

export async function startTurbotextFake(
  options: { apiKey?: string; initial?: TurbotextBehaviour } = {},
): Promise<TurbotextFake> {
  const apiKey = options.apiKey ?? 'test-turbotext-key';
  const behaviours = new BehaviourQueue<TurbotextBehaviour>(options.initial ?? { kind: 'result', reconnects: 1 });
  const jobs: FakeTurbotextJob[] = [];
  const pending = new Set<Promise<void>>();
  let nextId = 1000;
  let baseUrl = '';

  const finalJson = (job: FakeTurbotextJob): Record<string, unknown> => {
    const b = job.behaviour;
    if (job.downloads.some((d) => d.status !== 200)) return { success: false, error: 'url_error' };
    if (b.kind === 'fail') return { success: false, error: b.error };
    const placement = b.kind === 'result' ? (b.uploaded ?? 'data') : 'data';
    const relative = placement === 'missing_file' ? `/missing.php?f=${job.id}.jpg` : `/download.php?f=${job.id}.jpg`;
    const absolute = `${baseUrl}${relative}`;
    const limits = { balance: 120, cost: 1 };
    const image = [`/generated/${job.id}.jpg`];
    switch (placement) {
      case 'top':
        return { success: true, uploaded_image: absolute, data: { image }, limits };
      case 'relative':
        return { success: true, data: { image, uploaded_image: relative }, limits };
      case 'data_image_relative':
        // As a public copy of the method docs shows image2image results: a path on the API host only.
        return { success: true, data: { image: [relative] }, limits };
      case 'data_image_only':
        return {
          success: true,
          data: {
            image: [absolute],
            ...(b.kind === 'result' && b.forbiddenContent ? { forbidden_content: true } : {}),
          },
          limits,
        };
      default:
        return {
          success: true,
          data: {
            image,
            uploaded_image: absolute,
            ...(b.kind === 'result' && b.forbiddenContent ? { forbidden_content: true } : {}),
          },
          limits,
        };
    }
  };

  const deliverWebhook = (job: FakeTurbotextJob, url: string) => {
    const b = job.behaviour;
    const delay = b.kind === 'result' || b.kind === 'fail' ? (b.webhookDelayMs ?? 100) : 100;
    const copies = b.kind === 'result' ? (b.webhookCopies ?? 1) : 1;
    if (b.kind === 'reconnect_forever') return;
    const p = (async () => {
      await new Promise((r) => setTimeout(r, delay));
      for (let i = 0; i < copies; i++) {
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(finalJson(job)),
          });
          await res.arrayBuffer();
          job.webhookDeliveries.push({ status: res.status, at: Date.now() });
        } catch {
          job.webhookDeliveries.push({ status: 'error', at: Date.now() });
        }
      }
    })();
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  const server = await startFakeServer(async (ctx) => {
    const { record } = ctx;
    if (record.method === 'GET' && record.path === '/download.php') return ctx.text(200, RESULT_JPEG, 'image/jpeg');
    if (record.method === 'GET') return ctx.text(404, 'Not Found', 'text/plain');
    const method = /^\/api_ai\/([a-z0-9_]+)$/.exec(record.path)?.[1];
    if (!method) return ctx.json(404, { success: false, error: 'not_found' });
    if (ctx.req.headers.authorization !== `Bearer ${apiKey}`)
      return ctx.json(401, { success: false, error: 'auth_error' });
    const form = record.form;
    if (!form) return ctx.json(200, { success: false, error: 'params_error' });
    if (form.do === 'create_queue') {
      if (!METHODS.includes(method)) return ctx.json(200, { success: false, error: 'method_error' });
      const behaviour = behaviours.next();
      if (behaviour.kind === 'slow_create' && !(await ctx.wait(behaviour.delayMs))) return;
      if (behaviour.kind === 'create_error') return ctx.text(behaviour.status, '<html>Bad Gateway</html>', 'text/html');
      const job: FakeTurbotextJob = {
        id: nextId++,
        method,
        fields: form,
        downloads: [],
        polls: 0,
        behaviour,
        webhookDeliveries: [],
      };
      // Turbotext fetches the inputs itself; do it for real.
      for (const field of URL_FIELDS) {
        const url = form[field];
        if (url === undefined) continue;
        try {
          const res = await fetch(url);
          const bytes = Buffer.from(await res.arrayBuffer());
          job.downloads.push({ url, field, status: res.status, size: bytes.length });
        } catch {
          job.downloads.push({ url, field, status: 'error', size: 0 });
        }
      }
      jobs.push(job);
      if (form.webhook) {
        deliverWebhook(job, form.webhook);
        return ctx.json(200, { success: true, asyncid: job.id });
      }
      return ctx.json(200, { success: true, queueid: job.id });
    }
    if (form.do === 'get_result') {
      const job = jobs.find((j) => String(j.id) === form.queueid);
      if (!job) return ctx.json(200, { success: false, error: 'queue_not_found' });
      job.polls++;
      const b = job.behaviour;
      if (b.kind === 'reconnect_forever') return ctx.json(200, { action: 'reconnect' });
      const reconnects = b.kind === 'result' || b.kind === 'fail' ? (b.reconnects ?? 0) : 0;
      const errors = b.kind === 'result' ? (b.midPollErrors ?? 0) : 0;
      if (job.polls === 1 && reconnects > 0) return ctx.json(200, { action: 'reconnect' });
      if (job.polls >= 2 && job.polls < 2 + errors)
        return ctx.text(503, '<html><body>503 Service Temporarily Unavailable</body></html>', 'text/html');
      if (job.polls - errors <= reconnects) return ctx.json(200, { action: 'reconnect' });
      return ctx.json(200, finalJson(job));
    }
    return ctx.json(200, { success: false, error: 'params_error' });
  });
  baseUrl = server.baseUrl;
  return {
    ...server,
    apiKey,
    jobs,
    setBehaviour: (b) => behaviours.set(b),
    webhooksSettled: async () => {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
