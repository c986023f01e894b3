import { ContractError } from '../../shared/contract/index.js'
import type { ChainLookup } from '../chain/index.js'

/**
 * The chain height as the channels see it: one look-up shared by everyone who asks at the
 * same moment, and reused for a short while, so a burst of proposals does not become a
 * burst of look-ups at the chain service.
 */
export class ChainTip {
  private value: number | null = null
  private at = 0
  private pending: Promise<number> | null = null

  constructor(
    private readonly lookup: Pick<ChainLookup, 'height'>,
    private readonly maxAgeMs = 1000,
  ) {}

  /** The last height seen, or null before the first look-up succeeded. */
  get latest(): number | null {
    return this.value
  }

  /** A height at most `maxAgeMs` old; `unavailable` when the chain cannot be reached. */
  height(): Promise<number> {
    // Monotonic: a wall clock set back must not keep an old height for as long as it went back.
    if (this.value !== null && performance.now() - this.at < this.maxAgeMs) return Promise.resolve(this.value)
    return this.refresh()
  }

  refresh(): Promise<number> {
    this.pending ??= this.lookup.height().then(
      (h) => {
        this.pending = null
        this.value = h
        this.at = performance.now()
        return h
      },
      (err: unknown) => {
        this.pending = null
        throw new ContractError('unavailable', 'the chain service is unreachable', { cause: String((err as Error)?.message ?? err) })
      },
    )
    return this.pending
  }
}
