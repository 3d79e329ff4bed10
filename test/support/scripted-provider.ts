import fs from 'node:fs/promises';
import { Type } from 'typebox';
import { ProviderFailure, type ProviderDriver, type ProviderRequest } from '../../src/providers/types.js';
import { whenAdmitted } from '../../src/providers/http.js';

export type Script =
  | { kind: 'echo'; delayMs?: number }
  | { kind: 'hang' }
  | { kind: 'fail'; reason: string; message: string }
  | { kind: 'crash' };

/**
 * A driver whose behaviour a test sets per call ('echo' returns the photo's bytes). It records
 * every call and whether its signal was aborted, so tests can assert "the provider was never
 * called" or "its call was aborted at the deadline".
 */
export function createScriptedProvider(id = 'scripted') {
  /** `contents`: whether the photo's bytes came with the request (read while the job was enqueued) and matched its file. */
  const calls: Array<{ jobId: string; aborted: boolean; finished: boolean; contents?: 'matching' | 'different' }> = [];
  /** Jobs the worker told this driver to release (ProviderDriver.releaseJob), in order. */
  const released: string[] = [];
  let script: Script = { kind: 'echo' };
  const driver: ProviderDriver & { calls: typeof calls; released: string[]; setScript(s: Script): void } = {
    id,
    title: 'Scripted test provider',
    maxConcurrency: 16,
    readsPhoto: true,
    calls,
    released,
    async releaseJob(jobId: string) {
      released.push(jobId);
    },
    setScript(s: Script) {
      script = s;
    },
    operations: [
      {
        id: 'run',
        title: 'Run the script',
        description: 'test',
        settingsSchema: Type.Object({}),
        acceptedMimeTypes: ['image/jpeg', 'image/png', 'image/webp'],
        maxInputBytes: 2 * 1024 * 1024 * 1024,
        templateKeys: [],
      },
    ],
    async process(request: ProviderRequest) {
      // Like a remote provider behind sendRequest: nothing reaches it before the job's row is in.
      await whenAdmitted(request);
      const call: (typeof calls)[number] = { jobId: request.jobId, aborted: false, finished: false };
      if (request.photo.contents)
        call.contents = request.photo.contents.equals(await fs.readFile(request.photo.path)) ? 'matching' : 'different';
      calls.push(call);
      request.signal.addEventListener('abort', () => (call.aborted = true));
      const current = script;
      const wait = (ms: number) =>
        new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, ms);
          request.signal.addEventListener('abort', () => {
            clearTimeout(t);
            reject(request.signal.reason as Error);
          });
        });
      switch (current.kind) {
        case 'echo': {
          if (current.delayMs) await wait(current.delayMs);
          const bytes = await fs.readFile(request.photo.path);
          call.finished = true;
          return { bytes, mime: request.photo.mime, providerRef: `scripted-${request.jobId}` };
        }
        case 'hang':
          await wait(3_600_000);
          throw new Error('unreachable');
        case 'fail':
          throw new ProviderFailure(current.reason, current.message);
        case 'crash':
          throw new TypeError('scripted crash');
      }
    },
  };
  return driver;
}
