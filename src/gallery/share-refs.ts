/**
 * How a shared gallery names its photos: the job id encrypted (AES-128, one block) under the
 * share's own key. A guest with the link cannot turn a photo's name into a job id — which would be
 * a guest link (/r/…) still working after the share is revoked — and two shares name the same
 * photo differently.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { bytesOfName, jobIdBytes, jobIdOfBytes } from '../media/storage.js';

export function newShareRefKey(): Buffer {
  return randomBytes(16);
}

export function shareRef(key: Buffer, jobId: string): string {
  const cipher = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  return Buffer.concat([cipher.update(jobIdBytes(jobId)), cipher.final()]).toString('base64url');
}

/** The job id a share's photo name stands for, or undefined (only the canonical spelling counts). */
export function jobIdOfShareRef(key: Buffer, ref: string): string | undefined {
  const block = bytesOfName(ref);
  if (!block) return undefined;
  const decipher = createDecipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  return jobIdOfBytes(Buffer.concat([decipher.update(block), decipher.final()]));
}
