import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb } from 'node:crypto'

/**
 * Where the wallet's secret (its mnemonic) is kept sealed at rest. The daemon seals with
 * a passphrase (PassphraseKeystore); the desktop app seals with the OS keychain through
 * Electron's safeStorage (written in main/electron against this interface).
 */
export interface Keystore {
  /** What protects the secret: a passphrase the person types, the OS account, or nothing (devnet/testnet only). */
  readonly protection: 'passphrase' | 'os' | 'none'
  seal(secret: Uint8Array): Promise<Uint8Array>
  /** Throws WrongPassphraseError when the secret cannot be opened with this keystore's key. */
  open(sealed: Uint8Array): Promise<Uint8Array>
}

export class WrongPassphraseError extends Error {
  override readonly name = 'WrongPassphraseError'
  constructor() {
    super('wrong passphrase: the wallet could not be decrypted')
  }
}

export class KeystoreFormatError extends Error {
  override readonly name = 'KeystoreFormatError'
}

const MAGIC = Buffer.from('BSVK')
const VERSION = 1
const KIND_PLAIN = 0
const KIND_SCRYPT_AES_GCM = 1
const KIND_OS = 2
const HEADER = MAGIC.length + 2
const SALT_BYTES = 16
const IV_BYTES = 12
const TAG_BYTES = 16

/** Interactive-login strength by default; tests pass a lower cost to stay fast. */
const DEFAULT_SCRYPT_LOG_N = 15

function header(kind: number): Buffer {
  return Buffer.concat([MAGIC, Buffer.from([VERSION, kind])])
}

/** The kind byte of a sealed blob, after checking magic and version. */
export function sealedKind(sealed: Uint8Array): 'plain' | 'passphrase' | 'os' {
  const buf = Buffer.from(sealed)
  if (buf.length < HEADER || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new KeystoreFormatError('not a sealed wallet secret')
  if (buf[MAGIC.length] !== VERSION) throw new KeystoreFormatError(`unknown keystore version ${buf[MAGIC.length]}`)
  const kind = buf[MAGIC.length + 1]
  if (kind === KIND_PLAIN) return 'plain'
  if (kind === KIND_SCRYPT_AES_GCM) return 'passphrase'
  if (kind === KIND_OS) return 'os'
  throw new KeystoreFormatError(`unknown keystore kind ${kind}`)
}

function scrypt(passphrase: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** logN
  return new Promise((resolve, reject) => {
    scryptCb(passphrase.normalize('NFKC'), salt, 32, { N, r, p, maxmem: 256 * N * r }, (err, key) => (err ? reject(err) : resolve(key)))
  })
}

export interface PassphraseKeystoreInit {
  passphrase: string
  /** log2 of scrypt's N (default 15: N = 32768, r = 8, p = 1, ~32 MiB, ~0.1 s here). */
  scryptLogN?: number
}

/**
 * scrypt (random salt) derives an AES-256-GCM key; GCM's tag makes a wrong passphrase
 * fail cleanly instead of yielding garbage. Format: 'BSVK' v1 kind1 | logN r p | salt | iv | tag | ciphertext.
 */
export class PassphraseKeystore implements Keystore {
  readonly protection = 'passphrase' as const
  private readonly logN: number

  constructor(private readonly init: PassphraseKeystoreInit) {
    if (init.passphrase.length === 0) throw new KeystoreFormatError('the passphrase is empty')
    this.logN = init.scryptLogN ?? DEFAULT_SCRYPT_LOG_N
    if (!Number.isInteger(this.logN) || this.logN < 1 || this.logN > 22) throw new KeystoreFormatError('scryptLogN must be 1..22')
  }

  async seal(secret: Uint8Array): Promise<Uint8Array> {
    const r = 8
    const p = 1
    const salt = randomBytes(SALT_BYTES)
    const iv = randomBytes(IV_BYTES)
    const key = await scrypt(this.init.passphrase, salt, this.logN, r, p)
    const params = Buffer.from([this.logN, r, p])
    const cipher = createCipheriv('aes-256-gcm', key, iv)
    // The header is authenticated too: nobody can lower the cost parameters unnoticed.
    const head = Buffer.concat([header(KIND_SCRYPT_AES_GCM), params, salt, iv])
    cipher.setAAD(head)
    const ciphertext = Buffer.concat([cipher.update(secret), cipher.final()])
    key.fill(0)
    return new Uint8Array(Buffer.concat([head, cipher.getAuthTag(), ciphertext]))
  }

  async open(sealed: Uint8Array): Promise<Uint8Array> {
    if (sealedKind(sealed) !== 'passphrase') throw new KeystoreFormatError('this secret is not sealed with a passphrase')
    const buf = Buffer.from(sealed)
    let at = HEADER
    const [logN, r, p] = [buf[at]!, buf[at + 1]!, buf[at + 2]!]
    at += 3
    const salt = buf.subarray(at, (at += SALT_BYTES))
    const iv = buf.subarray(at, (at += IV_BYTES))
    const head = buf.subarray(0, at)
    const tag = buf.subarray(at, (at += TAG_BYTES))
    const ciphertext = buf.subarray(at)
    if (tag.length !== TAG_BYTES || logN < 1 || logN > 22 || r < 1 || p < 1) throw new KeystoreFormatError('the sealed secret is truncated or corrupt')
    const key = await scrypt(this.init.passphrase, salt, logN, r, p)
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv)
      decipher.setAAD(head)
      decipher.setAuthTag(tag)
      return new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]))
    } catch {
      throw new WrongPassphraseError()
    } finally {
      key.fill(0)
    }
  }
}

/** No encryption: refused on mainnet; on devnet/testnet it is allowed with a loud warning. */
export class PlainKeystore implements Keystore {
  readonly protection = 'none' as const

  async seal(secret: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(Buffer.concat([header(KIND_PLAIN), Buffer.from(secret)]))
  }

  async open(sealed: Uint8Array): Promise<Uint8Array> {
    if (sealedKind(sealed) !== 'plain') throw new WrongPassphraseError()
    return new Uint8Array(Buffer.from(sealed).subarray(HEADER))
  }
}

/** Frame for keystores whose cipher lives elsewhere (Electron safeStorage): magic, version, kind 2, then their bytes. */
export function frameOsSealed(opaque: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.concat([header(KIND_OS), Buffer.from(opaque)]))
}

export function unframeOsSealed(sealed: Uint8Array): Uint8Array {
  if (sealedKind(sealed) !== 'os') throw new KeystoreFormatError('this secret is not sealed by the OS keychain')
  return new Uint8Array(Buffer.from(sealed).subarray(HEADER))
}
