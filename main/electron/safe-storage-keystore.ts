import { frameOsSealed, type Keystore, unframeOsSealed } from '../wallet/index.js'

/** The part of Electron's safeStorage used here, so tests pass a plain object. */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean
  encryptString(plainText: string): Buffer
  decryptString(encrypted: Buffer): string
  /** Linux only: 'basic_text' means no keyring, i.e. a hard-coded key. */
  getSelectedStorageBackend?(): string
}

export class KeystoreUnavailableError extends Error {
  override readonly name = 'KeystoreUnavailableError'
}

export class SealedDataError extends Error {
  override readonly name = 'SealedDataError'
}

/**
 * The app's keystore: the OS keychain through Electron's safeStorage (Keychain, DPAPI,
 * libsecret/kwallet). On Linux without a keyring safeStorage falls back to a fixed key;
 * that is refused unless the host explicitly allows it, because it is not encryption.
 */
export class SafeStorageKeystore implements Keystore {
  readonly protection = 'os' as const

  constructor(
    private readonly safeStorage: SafeStorageLike,
    private readonly init: { allowWeakBackend?: boolean } = {},
  ) {}

  available(): boolean {
    if (!this.safeStorage.isEncryptionAvailable()) return false
    const backend = this.safeStorage.getSelectedStorageBackend?.()
    return backend !== 'basic_text' || this.init.allowWeakBackend === true
  }

  async seal(secret: Uint8Array): Promise<Uint8Array> {
    this.check()
    // The wallet's own versioned frame around safeStorage's ciphertext.
    return frameOsSealed(this.safeStorage.encryptString(Buffer.from(secret).toString('base64')))
  }

  async open(sealed: Uint8Array): Promise<Uint8Array> {
    this.check()
    let data: Buffer
    try {
      data = Buffer.from(unframeOsSealed(sealed))
    } catch {
      throw new SealedDataError('not sealed by this keystore')
    }
    if (data.length === 0) throw new SealedDataError('not sealed by this keystore')
    let text: string
    try {
      text = this.safeStorage.decryptString(data)
    } catch {
      throw new SealedDataError('cannot be opened on this account or machine')
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new SealedDataError('opened to something that is not a sealed secret')
    return new Uint8Array(Buffer.from(text, 'base64'))
  }

  private check(): void {
    if (!this.safeStorage.isEncryptionAvailable()) throw new KeystoreUnavailableError('the OS keychain is not available')
    if (!this.available()) throw new KeystoreUnavailableError('no OS keyring (safeStorage backend basic_text); set up a keyring or use a passphrase')
  }
}
