import { z } from 'zod'
import { method } from './define.js'
import { SatoshisSchema } from './wallet.js'

export const CHANNEL_STATES = ['proposed', 'funding', 'open', 'closing', 'closed', 'refunded', 'failed', 'rejected'] as const
export const ChannelStateSchema = z.enum(CHANNEL_STATES)

/** 32 hex characters, chosen by the payer. */
export const ChannelIdSchema = z.string().regex(/^[0-9a-f]{32}$/, 'must be a channel id (32 hex characters)')
const TxidSchema = z.string().regex(/^[0-9a-f]{64}$/)

export const ChannelSchema = z.object({
  id: ChannelIdSchema,
  peerId: z.string(),
  role: z.enum(['payer', 'payee']),
  state: ChannelStateSchema,
  capacitySats: SatoshisSchema,
  /** Cumulative amount of the latest settlement both sides hold. */
  paidSats: SatoshisSchema,
  /** Number of the latest settlement (0 before the first payment). */
  seq: z.number().int().nonnegative(),
  /** Block height from which the payer's refund is valid. */
  expiry: z.number().int().nonnegative(),
  settlementFeeSats: SatoshisSchema,
  fundingTxid: TxidSchema.nullable(),
  settlementTxid: TxidSchema.nullable(),
  refundTxid: TxidSchema.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
})
export type Channel = z.infer<typeof ChannelSchema>

export const ChannelPaymentSchema = z.object({
  seq: z.number().int().positive(),
  /** This payment's amount (the growth of the cumulative amount). */
  sats: SatoshisSchema,
  paidSats: SatoshisSchema,
  memo: z.string().nullable(),
  /** Payer: 'sent' until the payee acknowledged it; payee: always 'acked' (stored). */
  status: z.enum(['sent', 'acked']),
  createdAt: z.string(),
})
export type ChannelPayment = z.infer<typeof ChannelPaymentSchema>

export const CHANNEL_MEMO_MAX = 256
export const CHANNEL_HISTORY_MAX = 1000

const ById = z.object({ channelId: ChannelIdSchema }).strict()

export const channelMethods = {
  openChannel: method(
    'Open a payment channel to a peer, funded from the wallet; resolves once open (or pending at the peer). `expiry` is the block height from which the refund is valid (default: now + channels.expiryBlocks).',
    z.object({ peerId: z.string().min(1).max(200), capacitySats: SatoshisSchema.min(1000), expiry: z.number().int().positive().optional() }).strict(),
    ChannelSchema,
  ),
  acceptChannel: method('Accept a channel a peer proposed (pending by policy).', ById, ChannelSchema),
  rejectChannel: method('Refuse a channel a peer proposed.', ById, ChannelSchema),
  pay: method(
    'Pay through an open channel; resolves once the payee stored the signed settlement.',
    z.object({ channelId: ChannelIdSchema, sats: SatoshisSchema.min(1), memo: z.string().max(CHANNEL_MEMO_MAX).optional() }).strict(),
    z.object({ channelId: ChannelIdSchema, seq: z.number().int().positive(), paidSats: SatoshisSchema }),
  ),
  closeChannel: method('Close a channel cooperatively: the payee broadcasts the latest settlement.', ById, ChannelSchema),
  listChannels: method('Every channel, newest first.', z.object({}).strict().default({}), z.array(ChannelSchema)),
  getChannel: method(
    'One channel with its payment history (newest first, at most CHANNEL_HISTORY_MAX).',
    ById,
    ChannelSchema.extend({ payments: z.array(ChannelPaymentSchema) }),
  ),
}

/** `channels`: the channel that changed (state, amounts or txids), after it was persisted. */
export const channelEvents = {
  channels: ChannelSchema,
}
