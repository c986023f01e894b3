import type { Db } from '../store/index.js'

/**
 * Whose wallet a database holds: its first receive address (the same for the same words,
 * on any machine), or null when it has no wallet yet or cannot be read. Used to refuse a
 * backup of another wallet.
 */
export function walletIdentity(db: Db): string | null {
  try {
    const row = db.prepare('SELECT address FROM wallet_addresses WHERE chain = 0 AND idx = 0').get() as { address: string } | undefined
    return row?.address ?? null
  } catch {
    return null
  }
}
