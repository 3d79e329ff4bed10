/**
 * A ProviderRequest as the worker builds it, for driver tests and benchmarks against the fakes:
 * call records and every pino line are captured, and (like the worker) the signal is aborted at
 * the deadline unless told otherwise.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../../../src/clock.js';
import { createLogger } from '../../../src/logger.js';
import type { InputImage, ProviderCallRecord, ProviderRequest, TemplateImage } from '../../../src/providers/types.js';

export class DeadlineAbort extends Error {
  constructor() {
    super('job deadline reached');
    this.name = 'AbortError';
  }
}

export interface CapturedProviderRequest {
  request: ProviderRequest;
  calls: ProviderCallRecord[];
  logLines: string[];
  controller: AbortController;
  startedAt: number;
  dispose(): void;
}

export function makeProviderRequest(options: {
  operation: string;
  settings: Record<string, unknown>;
  photo: InputImage;
  templates?: TemplateImage[];
  deadlineMs: number;
  abortAtDeadline?: boolean;
  clock?: Clock;
  jobId?: string;
  slotId?: string;
}): CapturedProviderRequest {
  const calls: ProviderCallRecord[] = [];
  const logLines: string[] = [];
  const log = createLogger('trace', { write: (line: string) => void logLines.push(line) });
  const controller = new AbortController();
  const clock = options.clock ?? systemClock;
  const startedAt = Date.now();
  const timer =
    options.abortAtDeadline === false
      ? undefined
      : setTimeout(() => controller.abort(new DeadlineAbort()), options.deadlineMs);
  const request: ProviderRequest = {
    jobId: options.jobId ?? randomUUID(),
    slotId: options.slotId ?? 'slot-001',
    operation: options.operation,
    settings: options.settings,
    photo: options.photo,
    templates: options.templates ?? [],
    signal: controller.signal,
    deadline: new Date(clock.now().getTime() + options.deadlineMs),
    clock,
    log,
    recordCall: (call) => void calls.push(call),
  };
  return { request, calls, logLines, controller, startedAt, dispose: () => clearTimeout(timer) };
}

/** Writes image bytes to a temporary file and describes it as a job input. */
export async function writeInputImage(bytes: Buffer, mime: string, dir?: string): Promise<InputImage> {
  const folder = dir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'pc-input-')));
  const file = path.join(folder, `${randomUUID()}.${mime.split('/')[1] ?? 'bin'}`);
  await fs.writeFile(file, bytes);
  return { path: file, mime, size: bytes.length };
}

export async function writeTemplateImage(
  bytes: Buffer,
  mime: string,
  key: string,
  dir?: string,
): Promise<TemplateImage> {
  return { ...(await writeInputImage(bytes, mime, dir)), key, id: randomUUID() };
}

/** Polls `check` until it is true (or fails after `timeoutMs`). */
export async function eventually(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** What a promise rejected with (fails the test if it resolved). */
export async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}
