import { describe, expect, it } from 'vitest'
import { KeystoreUnavailableError, SafeStorageKeystore, type SafeStorageLike, SealedDataError } from './safe-storage-keystore.js'

/** A stand-in for the OS keychain (Electron cannot run here): reversible, keyed, and tamper-evident. */
function fakeSafeStorage(key: number, backend = 'gnome_libsecret', available = true): SafeStorageLike {
  return {
    isEncryptionAvailable: () => available,
    getSelectedStorageBackend: () => backend,
    encryptString: (text) => Buffer.from(Buffer.from(`${key}|${text}`).map((b) => b ^ key)),
    decryptString: (data) => {
      const text = Buffer.from(data.map((b) => b ^ key)).toString()
      if (!text.startsWith(`${key}|`)) throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.')
      return text.slice(String(key).length + 1)
    },
  }
}

describe('SafeStorageKeystore', () => {
  it('seals and opens secrets, and the sealed form does not contain them', async () => {
    const ks = new SafeStorageKeystore(fakeSafeStorage(0x5a))
    const secret = new Uint8Array(Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff))
    const sealed = await ks.seal(secret)
    expect(Buffer.from(sealed).includes(Buffer.from(secret))).toBe(false)
    expect(await ks.open(sealed)).toEqual(secret)
    expect(await ks.open(await ks.seal(new Uint8Array()))).toEqual(new Uint8Array())
  })

  it('refuses data from another key or another format', async () => {
    const sealed = await new SafeStorageKeystore(fakeSafeStorage(0x11)).seal(new Uint8Array([1, 2, 3]))
    await expect(new SafeStorageKeystore(fakeSafeStorage(0x22)).open(sealed)).rejects.toBeInstanceOf(SealedDataError)
    await expect(new SafeStorageKeystore(fakeSafeStorage(0x11)).open(new Uint8Array([1, 2, 3]))).rejects.toBeInstanceOf(SealedDataError)
  })

  it('refuses to pretend when there is no keychain', async () => {
    await expect(new SafeStorageKeystore(fakeSafeStorage(1, 'gnome_libsecret', false)).seal(new Uint8Array([1]))).rejects.toBeInstanceOf(KeystoreUnavailableError)
    const weak = new SafeStorageKeystore(fakeSafeStorage(1, 'basic_text'))
    expect(weak.available()).toBe(false)
    await expect(weak.seal(new Uint8Array([1]))).rejects.toBeInstanceOf(KeystoreUnavailableError)
    expect(new SafeStorageKeystore(fakeSafeStorage(1, 'basic_text'), { allowWeakBackend: true }).available()).toBe(true)
  })
})
