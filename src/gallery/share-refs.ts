/**
 * How a shared gallery names its photos: the job id encrypted (AES-128, one block) under the
 * share's own key. A guest with the link cannot turn a photo's name into a job id — which would be
 * a guest link (/r/…) still working after the share is revoked — and two shares name the same
 * photo differently.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const UUID_HEX = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/;
const REF = /^[A-Za-z0-9_-]{22}$/;

export function newShareRefKey(): Buffer {
  return randomBytes(16);
}

export function shareRef(key: Buffer, jobId: string): string {
  const m = UUID_HEX.exec(jobId);
  if (!m) throw new Error(`not a job id: ${jobId}`);
  const cipher = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.from(m.slice(1).join(''), 'hex')), cipher.final()]).toString('base64url');
}

/** The job id a share's photo name stands for, or undefined (only the canonical spelling counts). */
export function jobIdOfShareRef(key: Buffer, ref: string): string | undefined {
  if (!REF.test(ref)) return undefined;
  const block = Buffer.from(ref, 'base64url');
  if (block.length !== 16 || block.toString('base64url') !== ref) return undefined;
  const decipher = createDecipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  const hex = Buffer.concat([decipher.update(block), decipher.final()]).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
