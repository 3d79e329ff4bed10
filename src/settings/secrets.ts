import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Ciphertext as stored in the settings table: version, IV, GCM tag and data, all base64. */
export interface SealedSecret {
  v: 1;
  iv: string;
  tag: string;
  data: string;
}

/**
 * AES-256-GCM for secrets at rest (provider API keys). The key comes from PHOTOCHANGER_SECRET_KEY
 * (or DATA_DIR/secret-key on a local install). The secret's name is bound as associated data, so
 * a ciphertext copied to another row does not decrypt.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('The secret key must be 32 bytes');
  }

  seal(name: string, plaintext: string): SealedSecret {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(name));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return {
      v: 1,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    };
  }

  /** The plaintext, or undefined when the value is not ours (wrong key, tampered, other name). */
  open(name: string, sealed: unknown): string | undefined {
    const s = sealed as Partial<SealedSecret> | null;
    if (!s || s.v !== 1 || typeof s.iv !== 'string' || typeof s.tag !== 'string' || typeof s.data !== 'string')
      return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(s.iv, 'base64'));
      decipher.setAAD(Buffer.from(name));
      decipher.setAuthTag(Buffer.from(s.tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(s.data, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
