/**
 * One idempotency key per intended call. Trying the same thing again (same params) after
 * a failure or a lost answer reuses its key, so the engine does it at most once; once it
 * succeeded, or the params change, the next try is a new intent with a new key.
 */
export class IntentKeys {
  private current: { fingerprint: string; key: string } | null = null

  constructor(private readonly newKey: () => string = newIdempotencyKey) {}

  keyFor(fingerprint: string): string {
    if (this.current?.fingerprint !== fingerprint) this.current = { fingerprint, key: this.newKey() }
    return this.current.key
  }

  /** The call with `key` succeeded: its intent is fulfilled. */
  done(key: string): void {
    if (this.current?.key === key) this.current = null
  }
}

/** 128 random bits as hex (getRandomValues works in every context, randomUUID only in secure ones). */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
