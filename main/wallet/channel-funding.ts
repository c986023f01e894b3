import { randomUUID } from 'node:crypto'
import { ContractError } from '../../shared/contract/index.js'
import { outputIndexPaying } from './build-send.js'
import { selectCoins } from './coin-selection.js'
import { notEnoughCoins } from './wallet-errors.js'
import type { WalletKeyring } from './wallet-keyring.js'
import type { WalletRepository } from './wallet-repository.js'

export interface ChannelFundingReservation {
  reservationId: string
  coins: { txid: string; vout: number; satoshis: number; privateKey: Uint8Array }[]
  changeAddress: string
}

/** A channel's funding transaction the chain accepted. */
export interface CompletedChannelFunding {
  txid: string
  capacitySats: number
  feeSats: number
  changeSats: number
  changeAddress: string
  fundingAddress: string
  /** The signed transaction: where its change output sits is read from it. Without it the change is left to the next sync. */
  rawHex?: string
}

/**
 * Coins for payment channels' funding transactions: reserved under the same rules as a
 * send (selection and reservation in one SQLite transaction), handed over with their keys;
 * the channel engine builds and broadcasts the transaction, then completes or releases.
 */
export class ChannelFunding {
  constructor(
    private readonly components: { repo: WalletRepository; keyring: WalletKeyring; changed(): void },
    private readonly init: { feeRateSatsPerKb: number },
  ) {}

  /** Coins for a funding of `capacitySats`, reserved, with their keys and a fresh change address. */
  reserve(params: { capacitySats: number; feeRateSatsPerKb: number }): ChannelFundingReservation {
    const { repo, keyring } = this.components
    keyring.require()
    if (!Number.isSafeInteger(params.capacitySats) || params.capacitySats <= 0) throw new ContractError('invalid_params', 'capacitySats must be a positive whole number', { field: 'capacitySats' })
    const reservationId = randomUUID()
    // The multisig output is 46 bytes larger than the P2PKH output the selection assumes.
    const margin = Math.ceil((64 * params.feeRateSatsPerKb) / 1000) + 1
    const plan = repo.transaction(() => {
      const selection = selectCoins(repo.availableCoins(), params.capacitySats + margin, Math.max(this.init.feeRateSatsPerKb, params.feeRateSatsPerKb))
      if (!selection.ok) return selection
      if (!repo.reserve(selection.coins, reservationId)) throw new Error('coin reservation raced')
      return { ...selection, changeAddress: keyring.issueChangeAddress() }
    })
    if (!plan.ok) throw notEnoughCoins(plan)
    const keyed = repo.keyedCoins(plan.coins)
    if (!keyed) {
      repo.release(reservationId)
      throw new Error('a reserved coin has no key')
    }
    const coins = keyed.map((c) => ({ txid: c.txid, vout: c.vout, satoshis: c.satoshis, privateKey: keyring.privateKeyBytes(c.chain, c.idx) }))
    return { reservationId, coins, changeAddress: plan.changeAddress }
  }

  /** The funding tx was accepted by the chain: its coins are spent, its change is ours. */
  complete(reservationId: string, tx: CompletedChannelFunding): void {
    const changeVout = tx.changeSats > 0 && tx.rawHex ? outputIndexPaying(tx.rawHex, tx.changeAddress) : null
    this.components.repo.completeSend(
      reservationId,
      {
        txid: tx.txid,
        sats: tx.capacitySats,
        fee: tx.feeSats,
        address: tx.fundingAddress,
        change: changeVout === null ? null : { txid: tx.txid, vout: changeVout, satoshis: tx.changeSats, height: null, address: tx.changeAddress },
      },
      Date.now(),
    )
    this.components.changed()
  }

  /** The funding tx never left: its coins are available again. */
  release(reservationId: string): void {
    this.components.repo.release(reservationId)
  }

  /**
   * Every channel-funding reservation but `held` (the ones the channels' records name) is
   * freed: a process killed after reserving a funding's coins and before storing the
   * channel's built funding left them reserved for ever. Called before any funding can
   * start. Returns how many coins were freed.
   */
  releaseUnheld(held: readonly string[]): number {
    const freed = this.components.repo.releaseReservationsExcept(held)
    if (freed > 0) this.components.changed()
    return freed
  }
}
