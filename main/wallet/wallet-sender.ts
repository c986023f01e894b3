import { randomUUID } from 'node:crypto'
import { ContractError } from '../../shared/contract/index.js'
import { BroadcastRejectedError, type ChainBroadcaster, type ChainLookup, type ChainMonitor, ChainUnavailableError } from '../chain/index.js'
import type { Network } from '../config/index.js'
import type { IdempotencyScope } from '../idempotency/index.js'
import type { Logger, Metrics } from '../telemetry/index.js'
import { parseAddress } from './addresses.js'
import { type SignedSend, buildSignedSend, outputIndexPaying } from './build-send.js'
import { maxSendable, selectCoins } from './coin-selection.js'
import { notEnoughCoins } from './wallet-errors.js'
import type { WalletKeyring } from './wallet-keyring.js'
import type { PendingSend, WalletRepository } from './wallet-repository.js'

export interface WalletSenderComponents {
  repo: WalletRepository
  keyring: WalletKeyring
  chain: { lookup: ChainLookup; broadcaster: ChainBroadcaster; monitor: Pick<ChainMonitor, 'reportOk' | 'reportUnavailable'> }
  logger: Logger
  metrics: Metrics
  /** The balance may have changed (a send completed). */
  changed(): void
  /** Our view of the coins may be stale (the chain refused a send): look again. */
  stale(): void
}

export interface WalletSenderInit {
  network: Network
  feeRateSatsPerKb: number
}

/**
 * Sends: selection, reservation and the send's record in one SQLite transaction, the
 * signed bytes on disk before they leave, and sends whose outcome is unknown carried to
 * an answer by sending the same bytes again. A retry can never pay twice.
 */
export class WalletSender {
  /** Sends between reservation and their own broadcast's answer (the resolver leaves them alone). */
  private readonly sending = new Set<string>()
  private readonly sendsTotal

  constructor(
    private readonly components: WalletSenderComponents,
    private readonly init: WalletSenderInit,
  ) {
    this.sendsTotal = components.metrics.counter({ name: 'wallet_sends_total', help: 'Wallet sends by result', labelNames: ['result'] })
  }

  private get repo(): WalletRepository {
    return this.components.repo
  }

  /** A send that never got as far as signed bytes left only a reservation behind: it never happened. */
  abandonUnsigned(): void {
    for (const p of this.repo.pendingSends()) if (!p.rawHex) this.repo.abandonSend(p.sendId)
  }

  /**
   * A send as it would be made now, made nowhere: the same address checks, coin selection
   * and fee model as `send`, over the coins available at this moment, reserving nothing
   * and writing nothing. With `max`, the most one send can pay (everything spendable less
   * the fee). Refuses as `send` would: a wrong address, not enough coins.
   */
  preview(params: { address?: string; sats?: number; max?: boolean }): { sats: number; feeSats: number; totalSats: number; spendableSats: number } {
    this.components.keyring.require()
    if (params.address !== undefined) parseAddress(params.address, this.init.network)
    const coins = this.repo.availableCoins()
    const spendableSats = coins.reduce((s, c) => s + c.satoshis, 0)
    if (params.max) {
      const most = maxSendable(coins, this.init.feeRateSatsPerKb)
      if (!most.ok) throw notEnoughCoins(most)
      return { sats: most.sats, feeSats: most.fee, totalSats: most.sats + most.fee, spendableSats }
    }
    const sats = params.sats
    if (sats === undefined || !Number.isSafeInteger(sats) || sats <= 0) throw new ContractError('invalid_params', 'sats must be a positive whole number', { field: 'sats' })
    const selection = selectCoins(coins, sats, this.init.feeRateSatsPerKb)
    if (!selection.ok) throw notEnoughCoins(selection)
    return { sats, feeSats: selection.fee, totalSats: sats + selection.fee, spendableSats }
  }

  /**
   * With a key, a retry follows the send its first attempt made: the chain took it (its
   * answer again), or it is still unconfirmed (`unavailable`, pending, as the first time).
   * Only a send that certainly never happened (refused, or never signed) is made again.
   */
  async send(params: { address: string; sats: number }, scope: IdempotencyScope | null = null): Promise<{ txid: string; sats: number; fee: number }> {
    const { keyring, chain, logger } = this.components
    const keys = keyring.require()
    const prior = scope?.prior
    if (prior?.kind === 'send' && prior.txid !== null) {
      const sent = this.repo.sentTransaction(prior.txid)
      if (sent) return sent
      if (this.repo.pendingSend(prior.sendId)) throw this.outcomeUnknown(prior.txid)
    }
    const to = parseAddress(params.address, this.init.network)
    if (!Number.isSafeInteger(params.sats) || params.sats <= 0) throw new ContractError('invalid_params', 'sats must be a positive whole number', { field: 'sats' })
    const sendId = randomUUID()
    // Selection, reservation and the send's record in one synchronous SQLite transaction:
    // no other send can see these coins as available in between.
    const plan = this.repo.transaction(() => {
      const selection = selectCoins(this.repo.availableCoins(), params.sats, this.init.feeRateSatsPerKb)
      if (!selection.ok) return selection
      if (!this.repo.reserve(selection.coins, sendId)) throw new Error('coin reservation raced')
      const changeAddress = selection.change > 0 ? keyring.issueChangeAddress() : null
      this.repo.insertPendingSend({ sendId, address: to.address, sats: params.sats, fee: selection.fee, changeAddress, changeSats: selection.change }, Date.now())
      scope?.bind({ kind: 'send', sendId, txid: null })
      return { ...selection, changeAddress }
    })
    if (!plan.ok) {
      this.sendsTotal.inc({ result: 'insufficient_funds' })
      throw notEnoughCoins(plan)
    }
    this.sending.add(sendId)
    let signed: SignedSend | null = null
    try {
      const inputs = this.repo.keyedCoins(plan.coins)
      if (!inputs) throw new Error('a reserved coin has no key')
      signed = await buildSignedSend(keys, inputs, { pubkeyHash: to.pubkeyHash, sats: params.sats }, plan.changeAddress ? { address: plan.changeAddress, sats: plan.change } : null)
      // On disk before it leaves: from here on the payment may exist, whatever happens next.
      const { txid, rawHex } = signed
      this.repo.transaction(() => {
        this.repo.setPendingRaw(sendId, txid, rawHex)
        scope?.bind({ kind: 'send', sendId, txid })
      })
      const { txid: accepted } = await chain.broadcaster.broadcast(rawHex)
      if (accepted !== txid) throw new Error(`the chain service answered with txid ${accepted}, expected ${txid}`)
      this.complete({ sendId, address: to.address, sats: params.sats, fee: plan.fee, changeAddress: plan.changeAddress, changeSats: plan.change, txid }, signed.changeVout)
      chain.monitor.reportOk()
      this.sendsTotal.inc({ result: 'ok' })
      logger.info('sent', { txid, sats: params.sats, fee: plan.fee, inputs: plan.coins.length })
      this.components.changed()
      return { txid, sats: params.sats, fee: plan.fee }
    } catch (err) {
      if (err instanceof BroadcastRejectedError) {
        this.repo.abandonSend(sendId)
        this.sendsTotal.inc({ result: 'rejected' })
        logger.warn('send refused by the chain', { reason: err.reason, message: err.message })
        this.components.stale()
        throw new ContractError('rejected', `the chain refused the transaction (${err.reason}): ${err.message}`, { reason: err.reason })
      }
      if (signed === null || (err instanceof ChainUnavailableError && !err.maybeDelivered)) {
        this.repo.abandonSend(sendId)
        if (err instanceof ChainUnavailableError) {
          this.sendsTotal.inc({ result: 'unavailable' })
          chain.monitor.reportUnavailable(err)
          throw new ContractError('unavailable', 'the chain service is unreachable; nothing was sent, try again later')
        }
        this.sendsTotal.inc({ result: 'error' })
        throw err
      }
      // The transaction may have reached the network. Releasing its coins now could let a
      // retry pay twice, so they stay reserved and the same bytes are sent again on every
      // sync until the chain takes or refuses them.
      this.sendsTotal.inc({ result: 'pending' })
      if (err instanceof ChainUnavailableError) chain.monitor.reportUnavailable(err)
      logger.warn('send outcome unknown; kept pending', { txid: signed.txid, err })
      throw this.outcomeUnknown(signed.txid)
    } finally {
      this.sending.delete(sendId)
    }
  }

  /**
   * Sends whose outcome is unknown: the same bytes again. Accepted (or already on the
   * chain): done. Refused and unknown to the chain: it never happened, the coins are free.
   * The chain still away: next time.
   */
  async resolvePending(signal?: AbortSignal): Promise<void> {
    const { chain, logger } = this.components
    for (const p of this.repo.pendingSends()) {
      if (this.sending.has(p.sendId) || !p.rawHex || !p.txid) continue
      const txid = p.txid
      try {
        await chain.broadcaster.broadcast(p.rawHex, signal)
      } catch (err) {
        if (!(err instanceof BroadcastRejectedError)) return
        const status = await chain.lookup.txStatus(txid, signal).catch(() => undefined)
        if (status === undefined) return
        if (status === null) {
          this.repo.abandonSend(p.sendId)
          this.sendsTotal.inc({ result: 'rejected' })
          logger.warn('a send whose outcome was unknown was refused by the chain; its coins are free again', { txid, reason: err.reason })
          continue
        }
      }
      this.complete({ ...p, txid }, p.changeAddress ? outputIndexPaying(p.rawHex, p.changeAddress) : null)
      this.sendsTotal.inc({ result: 'ok' })
      logger.info('a send whose outcome was unknown is on the chain', { txid, sats: p.sats })
    }
  }

  /** The chain took the send: inputs spent, the change (at `changeVout` of the signed transaction) ours. */
  private complete(p: Omit<PendingSend, 'rawHex' | 'txid'> & { txid: string }, changeVout: number | null): void {
    // A change address the transaction does not pay leaves no output to record; the next sync lists what the chain holds.
    const change = p.changeAddress && changeVout !== null ? { txid: p.txid, vout: changeVout, satoshis: p.changeSats, height: null, address: p.changeAddress } : null
    this.repo.completeSend(p.sendId, { txid: p.txid, sats: p.sats, fee: p.fee, address: p.address, change }, Date.now())
  }

  private outcomeUnknown(txid: string): ContractError {
    return new ContractError(
      'unavailable',
      `the chain service did not confirm the payment (txid ${txid}); it may already have gone through. Do not pay again: the wallet keeps these coins aside and sends this same transaction again until the chain takes or refuses it.`,
      { txid, pending: true },
    )
  }
}
