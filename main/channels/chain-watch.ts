// The channels against the chain: funding confirmations (and rebroadcast after a
// restart), the payee's settlement a safety margin before expiry, the payer's refund once
// the expiry height is reached, and the confirmations that end a channel.
import { ContractError } from '../../shared/contract/index.js'
import { BroadcastRejectedError } from '../chain/chain.js'
import type { ChannelEngine } from './channel-engine.js'
import type { ChannelRecord } from './channel-repository.js'
import { multisigUnlockingScript, signInput, withUnlockingScripts } from './transactions.js'

const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))

export class ChainWatch {
  private checking = false

  constructor(private readonly engine: ChannelEngine) {}

  /** Auto-close before expiry, refunds after it, confirmations of funding, settlement and refund. */
  async check(): Promise<void> {
    const e = this.engine
    if (this.checking || !e.isRunning) return
    this.checking = true
    try {
      const height = await e.height()
      for (const c of [...e.channels.values()]) {
        if (!e.isRunning) return
        try {
          await this.checkChannel(c, height)
        } catch (err) {
          e.log.debug('channel chain check failed', { err, channelId: c.id })
        }
      }
    } catch (err) {
      e.log.debug('chain check failed', { err })
    } finally {
      this.checking = false
    }
  }

  private async checkChannel(c: ChannelRecord, height: number): Promise<void> {
    const e = this.engine
    const lookup = e.components.chain.lookup
    if (c.state === 'funding' && c.role === 'payer' && !c.refundPayeeSig && !e.funding.has(c.id)) {
      // A funding interrupted (restart) before the refund was safe: the funding tx never left.
      if (c.reservationId) e.components.wallet.releaseChannelFunding(c.reservationId)
      c.reservationId = null
      await e.move(c, 'fail')
      return
    }
    if (c.state === 'funding' && c.fundingTxid && (c.role === 'payee' || (c.refundPayeeSig && !e.funding.has(c.id)))) {
      const status = await lookup.txStatus(c.fundingTxid)
      if (status && c.role === 'payer' && c.reservationId && c.fundingHex) {
        // The broadcast's answer was lost (restart, chain unreachable) but the chain has the tx:
        // its coins are spent. Its change (an issued address of ours) is found by the next sync;
        // the fee is not known here (the inputs' amounts are the wallet's).
        e.components.wallet.completeChannelFunding(c.reservationId, { txid: c.fundingTxid, capacitySats: c.capacitySats, feeSats: 0, changeSats: 0, changeAddress: '', fundingAddress: `channel:${c.id}` })
        c.reservationId = null
        await e.save(c)
      }
      if (status && status.confirmations >= e.opts.confirmations) await e.move(c, status.confirmations > 0 ? 'fundingConfirmed' : 'fundingBroadcast')
      else if (!status && c.role === 'payer' && c.fundingHex) await e.components.chain.broadcaster.broadcast(c.fundingHex).catch(() => {})
      return
    }
    if (c.state !== 'open' && c.state !== 'closing') return
    if (c.settlementTxid) {
      const status = await lookup.txStatus(c.settlementTxid)
      if (status && status.confirmations >= Math.max(1, e.opts.confirmations)) await e.move(c, 'settlementConfirmed')
      return
    }
    if (c.refundTxid) {
      const status = await lookup.txStatus(c.refundTxid)
      if (status && status.confirmations >= Math.max(1, e.opts.confirmations)) await e.move(c, 'refundConfirmed')
      return
    }
    if (c.role === 'payee' && c.seq > 0 && height >= c.expiry - e.opts.closeMarginBlocks) {
      e.log.info('settling before expiry', { channelId: c.id, height, expiry: c.expiry })
      await e.payee.settle(c)
      return
    }
    if (c.role === 'payer' && height >= c.expiry && c.refundPayeeSig) await e.broadcastRefund(c)
  }

  /** The payer's way out when the payee vanished: valid only from the expiry height on. */
  async broadcastRefund(c: ChannelRecord): Promise<string> {
    const e = this.engine
    if (c.role !== 'payer' || !c.refundPayeeSig) throw new ContractError('invalid_state', 'no refund for this channel')
    const tx = e.refundTx(c)
    const mine = signInput(tx, 0, e.source(c), e.key(c.keyIndex), e.backend)
    const signed = withUnlockingScripts(tx, new Map([[0, multisigUnlockingScript(mine, bytes(c.refundPayeeSig))]]))
    try {
      const { txid } = await e.components.chain.broadcaster.broadcast(signed.toHex())
      c.refundTxid = txid
      await e.move(c, 'refundBroadcast')
      return txid
    } catch (err) {
      if (err instanceof BroadcastRejectedError && err.reason === 'double-spend') {
        // The funding output is spent: only the settlement could have spent it.
        e.log.info('the payee settled the channel', { channelId: c.id })
        await e.move(c, 'settlementConfirmed')
      }
      throw err
    }
  }
}
