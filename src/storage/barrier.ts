/**
 * Encryption at rest. Every record value is sealed with AES-256-GCM under the
 * data key; the record's storage key is the AAD, so a ciphertext copied to
 * another row fails to open. The data key is itself wrapped by the seal key
 * and stored at `core/keyring`.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { IntegrityError, VaultError } from '../errors.js';
import type { ListOptions, PhysicalStore, PhysicalTx } from './store.js';

const VERSION = 1;
const NONCE = 12;
const TAG = 16;
export const KEYRING_KEY = 'core/keyring';

// Nonces come from the CSPRNG in blocks: one randomBytes call per 4,096
// records instead of one each (it showed in profiles). Every nonce is still
// 96 fresh random bits used once.
const NONCE_BLOCK = NONCE * 4096;
let noncePool = Buffer.alloc(0);
let nonceAt = 0;
function nextNonce(): Buffer {
  if (nonceAt + NONCE > noncePool.length) {
    noncePool = randomBytes(NONCE_BLOCK);
    nonceAt = 0;
  }
  const n = noncePool.subarray(nonceAt, nonceAt + NONCE);
  nonceAt += NONCE;
  return n;
}

function gcmSeal(key: Buffer, aad: string, plaintext: Uint8Array): Uint8Array {
  const nonce = nextNonce();
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const head = c.update(plaintext);
  const tail = c.final(); // empty for GCM (a stream mode)
  const body = tail.length ? Buffer.concat([head, tail]) : head;
  const out = Buffer.allocUnsafe(1 + NONCE + body.length + TAG);
  out[0] = VERSION;
  nonce.copy(out, 1);
  body.copy(out, 1 + NONCE);
  c.getAuthTag().copy(out, 1 + NONCE + body.length);
  return out;
}

function gcmOpen(key: Buffer, aad: string, blob: Uint8Array): Buffer {
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (b.length < 1 + NONCE + TAG || b[0] !== VERSION) throw new IntegrityError(aad);
  try {
    const d = createDecipheriv('aes-256-gcm', key, b.subarray(1, 1 + NONCE));
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(b.subarray(b.length - TAG));
    return Buffer.concat([d.update(b.subarray(1 + NONCE, b.length - TAG)), d.final()]);
  } catch {
    throw new IntegrityError(aad);
  }
}

export class SealKeyMismatchError extends VaultError {
  constructor() {
    super(500, 'seal_mismatch', 'failed to unseal: the seal key does not open this store (wrong key_file or SECRETS_SYNC_SEAL_KEY)');
  }
}

/** Parses a seal key: 32 random bytes, base64-encoded. */
export function parseSealKey(text: string, where: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new Error(`${where}: the seal key must be 32 bytes encoded in base64 (got ${key.length} bytes)`);
  return key;
}

/** The unwrapped keys of an unsealed store. */
export class Barrier {
  private constructor(
    private readonly dataKey: Buffer,
    private readonly hmacKey: Buffer,
  ) {}

  /** Creates fresh keys and returns the barrier plus the wrapped keyring blob. */
  static create(sealKey: Buffer): { barrier: Barrier; wrapped: Uint8Array } {
    const keyring = randomBytes(64);
    return {
      barrier: new Barrier(keyring.subarray(0, 32), keyring.subarray(32)),
      wrapped: gcmSeal(sealKey, KEYRING_KEY, keyring),
    };
  }

  static open(sealKey: Buffer, wrapped: Uint8Array): Barrier {
    let keyring: Buffer;
    try {
      keyring = gcmOpen(sealKey, KEYRING_KEY, wrapped);
    } catch {
      throw new SealKeyMismatchError();
    }
    return new Barrier(keyring.subarray(0, 32), keyring.subarray(32));
  }

  seal(key: string, plaintext: Uint8Array): Uint8Array {
    return gcmSeal(this.dataKey, key, plaintext);
  }

  open(key: string, blob: Uint8Array): Buffer {
    return gcmOpen(this.dataKey, key, blob);
  }

  /** Keyed hash (HMAC-SHA256, hex) for tokens, value fingerprints and audit. */
  hmac(purpose: string, data: string | Uint8Array): string {
    return createHmac('sha256', this.hmacKey).update(purpose).update('\0').update(data).digest('hex');
  }
}

/** The logical transaction every domain module uses: JSON values, sealed. */
export interface SecureTx {
  getJson<T>(key: string): Promise<T | undefined>;
  putJson(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  deletePrefix(prefix: string): Promise<number>;
  list(prefix: string, opts?: ListOptions): Promise<string[]>;
  scanJson<T>(prefix: string, opts?: ListOptions): Promise<Array<[string, T]>>;
  /** Runs cb after the transaction commits (never on rollback). */
  onCommit(cb: () => void): void;
}

/** The sealed logical store over a physical store. */
export class SecureStore {
  constructor(
    readonly physical: PhysicalStore,
    readonly barrier: Barrier,
  ) {}

  transaction<T>(fn: (tx: SecureTx) => Promise<T>): Promise<T> {
    return this.physical.transaction((ptx, onCommit) => fn(this.wrap(ptx, onCommit)));
  }

  read<T>(fn: (tx: SecureTx) => Promise<T>): Promise<T> {
    return this.physical.read((ptx) =>
      fn(
        this.wrap(ptx, () => {
          throw new Error('onCommit in a read');
        }),
      ),
    );
  }

  private wrap(ptx: PhysicalTx, onCommit: (cb: () => void) => void): SecureTx {
    const b = this.barrier;
    const decode = <T>(key: string, blob: Uint8Array): T => JSON.parse(b.open(key, blob).toString('utf8')) as T;
    return {
      async getJson<T>(key: string) {
        const blob = await ptx.get(key);
        return blob === undefined ? undefined : decode<T>(key, blob);
      },
      async putJson(key, value) {
        await ptx.put(key, b.seal(key, Buffer.from(JSON.stringify(value), 'utf8')));
      },
      delete: (key) => ptx.delete(key),
      deletePrefix: (prefix) => ptx.deletePrefix(prefix),
      list: (prefix, opts) => ptx.list(prefix, opts),
      async scanJson<T>(prefix: string, opts?: ListOptions) {
        const rows = await ptx.scan(prefix, opts);
        return rows.map(([k, v]) => [k, decode<T>(k, v)] as [string, T]);
      },
      onCommit,
    };
  }
}
