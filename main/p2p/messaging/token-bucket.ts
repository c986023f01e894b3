export interface TokenBucketInit {
  /** Tokens added per second (the steady rate). */
  ratePerSec: number
  /** Most tokens held at once (the burst); a new bucket starts full. */
  burst: number
}

export class TokenBucketConfigError extends Error {
  override readonly name = 'TokenBucketConfigError'
}

/**
 * A token bucket with an injected clock (milliseconds), so that tests decide time.
 * Taking never waits: it answers yes or no, and how long until yes.
 */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    private readonly init: TokenBucketInit,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(init.ratePerSec > 0) || !Number.isFinite(init.ratePerSec)) throw new TokenBucketConfigError(`ratePerSec must be a positive number, got ${init.ratePerSec}`)
    if (!(init.burst >= 1) || !Number.isFinite(init.burst)) throw new TokenBucketConfigError(`burst must be at least 1, got ${init.burst}`)
    this.tokens = init.burst
    this.last = now()
  }

  private refill(): void {
    const t = this.now()
    const elapsed = t - this.last
    // A clock that goes backwards must not mint or burn tokens.
    if (elapsed > 0) this.tokens = Math.min(this.init.burst, this.tokens + (elapsed * this.init.ratePerSec) / 1000)
    this.last = Math.max(this.last, t)
  }

  /** Take `n` tokens if there are that many; false (and nothing taken) otherwise. */
  tryTake(n = 1): boolean {
    this.refill()
    if (this.tokens < n) return false
    this.tokens -= n
    return true
  }

  /** Milliseconds until `n` tokens will be available (0 when they are now). */
  retryAfterMs(n = 1): number {
    this.refill()
    if (this.tokens >= n) return 0
    return Math.ceil(((n - this.tokens) * 1000) / this.init.ratePerSec)
  }

  get available(): number {
    this.refill()
    return this.tokens
  }
}
