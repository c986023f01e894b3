import { describe, expect, it } from 'vitest'
import { ContractError } from '../../../shared/contract/index.js'
import { describeKeyedFailure } from './use-action.js'

describe('keyed failures', () => {
  it('says a lost answer may have gone through, but not when the peer could not be reached', () => {
    expect(describeKeyedFailure(new ContractError('timeout', 'no answer'))).toMatch(/may have gone through: trying again is safe/)
    expect(describeKeyedFailure(new ContractError('unavailable', 'Cannot reach the wallet service.'))).toMatch(/trying again is safe/)
    // The engine refused before doing anything: nothing to follow up.
    const away = new ContractError('unavailable', 'the peer cannot be reached right now: connection refused', { peerId: 'x', reachable: false })
    expect(describeKeyedFailure(away)).toBe('The peer cannot be reached right now: connection refused')
    expect(describeKeyedFailure(new ContractError('unavailable', 'sent, not acknowledged', { pending: true }))).not.toMatch(/may have gone through/)
    expect(describeKeyedFailure(new ContractError('rejected', 'no thanks'))).toBe('No thanks')
  })
})
