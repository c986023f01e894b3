import { ContractError } from '../../shared/contract/index.js'

export class WalletConfigError extends Error {
  override readonly name = 'WalletConfigError'
}

/** The wallet is encrypted and this process was not given what opens it. */
export class WalletLockedError extends Error {
  override readonly name = 'WalletLockedError'
}

/** The refusal of a send (or a preview, or a channel's funding) the coins cannot pay; details carry the numbers. */
export function notEnoughCoins(p: { available: number; needed: number }): ContractError {
  return new ContractError('insufficient_funds', `not enough coins: ${p.available} sat spendable, ${p.needed} sat needed with the fee`, { available: p.available, needed: p.needed })
}
