import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { writeFileAtomically } from '../store/index.js'

export const IDENTITY_FILE = 'peer-identity.key'

class IdentityError extends Error {
  override readonly name = 'IdentityError'
}

/**
 * The node's Ed25519 identity, persisted in the data dir (mode 0600) so its peer id, and
 * every address others saved for it, survive restarts. Written atomically: a crash while
 * creating it never leaves a half-written key.
 */
export async function loadOrCreateIdentity(dataDir: string, fileName = IDENTITY_FILE): Promise<PrivateKey> {
  const path = join(dataDir, fileName)
  if (existsSync(path)) {
    try {
      const key = privateKeyFromProtobuf(readFileSync(path))
      if (key.type !== 'Ed25519') throw new IdentityError(`${path} holds a ${key.type} key; expected Ed25519`)
      chmodSync(path, 0o600)
      return key
    } catch (err) {
      if (err instanceof IdentityError) throw err
      throw new IdentityError(`${path} is not a valid identity key: ${(err as Error).message}`, { cause: err })
    }
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const key = await generateKeyPair('Ed25519')
  writeFileAtomically(path, privateKeyToProtobuf(key), 0o600)
  return key
}
