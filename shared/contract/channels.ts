import { z } from 'zod'
import { method } from './define.js'
import { idempotent } from './idempotency.js'
import { TimeoutMsSchema } from './peers.js'
import { SatoshisSchema } from './wallet.js'

export const CHANNEL_STATES = ['proposed', 'funding', 'open', 'closing', 'closed', 'refunded', 'failed', 'rejected'] as const
const ChannelStateSchema = z.enum(CHANNEL_STATES)

/** 32 hex characters, chosen by the payer. */
const ChannelIdSchema = z.string().regex(/^[0-9a-f]{32}$/, 'must be a channel id (32 hex characters)')
const TxidSchema = z.string().regex(/^[0-9a-f]{64}$/)

/**
 * Where an opening channel stands. Payer: awaiting-answer / awaiting-accept (proposed);
 * accepted → built → refund-signed (from here the funding may be on chain, so it cannot be
 * cancelled) → broadcast (waiting for the payee to open). Payee: accepted → refund-signed.
 */
const CHANNEL_STEPS = ['awaiting-answer', 'awaiting-accept', 'accepted', 'built', 'refund-signed', 'broadcast'] as const

/** Why a channel failed: it never held coins, or its funding can never be mined. */
export const CHANNEL_FAILURES = [
  /** Nobody accepted, or the payer never funded, within channels.proposalTimeoutMs (or too close to expiry). */
  'proposal-expired',
  /** The funding did not reach its confirmations before the channel would have had to settle. */
  'funding-timeout',
  /** The transaction named as funding does not pay the agreed 2-of-2 the capacity. */
  'funding-mismatch',
  /** The funding was refused by the chain, double-spent or vanished, and can never be mined. */
  'funding-lost',
  /** The process stopped before the refund was safe: nothing was broadcast. */
  'interrupted',
  /** The wallet could not pay the capacity and the fee. */
  'insufficient-funds',
  /** The peer could not be reached, or did not answer, while opening. */
  'peer-unreachable',
  /** The peer refused the proposal, or answered against the protocol, while opening. */
  'peer-refused',
  /** This side withdrew the proposal before anything was on chain. */
  'cancelled',
  /** Failed under an earlier version, which did not record why. */
  'unrecorded',
] as const

/** Something about a live channel its owner must see; each can cost money if left alone. */
export const CHANNEL_PROBLEMS = ['settle-failing', 'refund-failing', 'funding-failing', 'peer-misbehaved'] as const

const ChannelSchema = z.object({
  id: ChannelIdSchema,
  peerId: z.string(),
  role: z.enum(['payer', 'payee']),
  state: ChannelStateSchema,
  step: z.enum(CHANNEL_STEPS).nullable(),
  failure: z.enum(CHANNEL_FAILURES).nullable(),
  problem: z.object({ code: z.enum(CHANNEL_PROBLEMS), message: z.string(), since: z.string() }).nullable(),
  capacitySats: SatoshisSchema,
  /** Cumulative amount of the latest settlement both sides hold. */
  paidSats: SatoshisSchema,
  /** Number of the latest payment the latest settlement covers (0 before the first payment); one settlement may cover several. */
  seq: z.number().int().nonnegative(),
  /** Block height from which the payer's refund is valid. */
  expiry: z.number().int().nonnegative(),
  settlementFeeSats: SatoshisSchema,
  fundingTxid: TxidSchema.nullable(),
  /** Confirmations of the funding as last seen, and how many the payee waits for (while opening). */
  fundingConfirmations: z.number().int().nonnegative().nullable(),
  requiredConfirmations: z.number().int().nonnegative().nullable(),
  settlementTxid: TxidSchema.nullable(),
  refundTxid: TxidSchema.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** When the owner archived this ended channel (hidden from listChannels unless asked for; kept with its payments); null while not archived. */
  archivedAt: z.string().nullable(),
})
export type Channel = z.infer<typeof ChannelSchema>

/** The states a channel can be archived in: it has ended, and no coin of it is left to watch. */
export const ARCHIVABLE_STATES = ['closed', 'refunded', 'failed', 'rejected'] as const satisfies readonly (typeof CHANNEL_STATES)[number][]

const ChannelPaymentSchema = z.object({
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
const ByIdKeyed = z.object({ channelId: ChannelIdSchema, ...idempotent }).strict()

export const ChannelRestoreSchema = z.object({
  /** Channels this wallet did not have, now closing out on chain (payee: settles now; payer: the refund at expiry unless the payee settles). */
  restored: z.number().int().nonnegative(),
  /** Payee channels the file held a newer settlement for (now settling). */
  updated: z.number().int().nonnegative(),
  /** Channels already as new here, or ended. */
  unchanged: z.number().int().nonnegative(),
  /** When the file was written (ms since the epoch). */
  writtenAt: z.number().int().nonnegative(),
})
export type ChannelRestore = z.infer<typeof ChannelRestoreSchema>

export const channelMethods = {
  openChannel: method(
    'Open a payment channel to a peer, funded from the wallet; resolves once open (or pending at the peer). `expiry` is the block height from which the refund is valid (default: now + channels.expiryBlocks). A peer that cannot be reached is answered `unavailable` at once (within channels.reachTimeoutMs, 3 s, or `timeoutMs` if shorter) and no channel is made, no coins locked.',
    z.object({ peerId: z.string().min(1).max(200), capacitySats: SatoshisSchema.min(1000), expiry: z.number().int().positive().optional(), timeoutMs: TimeoutMsSchema.optional(), ...idempotent }).strict(),
    ChannelSchema,
  ),
  acceptChannel: method('Accept a channel a peer proposed (pending by policy).', ByIdKeyed, ChannelSchema),
  rejectChannel: method('Refuse a channel a peer proposed.', ByIdKeyed, ChannelSchema),
  pay: method(
    'Pay through an open channel; resolves once the payee stored the signed settlement. A payee that cannot be reached is answered `unavailable` at once (within the dial: milliseconds on a refusal, at most channels.reachTimeoutMs, 3 s, otherwise) with details `{peerId, reachable: false}`, and nothing is signed. A payment signed and sent whose acknowledgement does not come (the payee went away meanwhile) is answered `unavailable` (at once) or `timeout` with details `{seq, pending: true}`: it stays signed and is sent again when the payee is back (a retry with the same idempotency key follows it). `timeoutMs` bounds the wait for the acknowledgement (default 30 s).',
    z.object({ channelId: ChannelIdSchema, sats: SatoshisSchema.min(1), memo: z.string().max(CHANNEL_MEMO_MAX).optional(), timeoutMs: TimeoutMsSchema.optional(), ...idempotent }).strict(),
    z.object({ channelId: ChannelIdSchema, seq: z.number().int().positive(), paidSats: SatoshisSchema }),
  ),
  closeChannel: method(
    'Close a channel. The payee settles alone (it broadcasts the latest settlement). The payer asks the payee to settle: when the payee cannot be reached it answers at once with `unavailable`, whose details give the refund height (`refundHeight`, `blocksLeft`, `hoursLeft`): close again when the payee is back, or the refund returns the coins from that block unless the payee settles first. `timeoutMs` bounds reaching the payee (at most channels.reachTimeoutMs) and the wait for payments still in flight (default 30 s).',
    z.object({ channelId: ChannelIdSchema, timeoutMs: TimeoutMsSchema.optional(), ...idempotent }).strict(),
    ChannelSchema,
  ),
  listChannels: method(
    'Every channel, newest first: those not archived, or with `archived: true` only the archived ones.',
    z.object({ archived: z.boolean().optional() }).strict().default({}),
    z.array(ChannelSchema),
  ),
  archiveChannel: method(
    'Hide an ended channel (closed, refunded, failed or rejected) from listChannels; it stays in the database with its payments, and the wallet history keeps its transactions. A live channel is refused (`invalid_state`, details.reason `channel-live`). Archiving an archived channel answers it as it is. The `channels` event carries the change.',
    ByIdKeyed,
    ChannelSchema,
  ),
  getChannel: method(
    'One channel with its payment history (newest first, at most CHANNEL_HISTORY_MAX).',
    ById,
    ChannelSchema.extend({ payments: z.array(ChannelPaymentSchema) }),
  ),
  restoreChannelBackup: method(
    'Restore the channel backup file (made by this wallet: restore the wallet from its recovery words first). Give the file as base64 `data` (as read by the app), or as a `file` path on the machine the node runs on. Channels this wallet lacks come back closing: the payee settles its newest backed-up settlement at once, the payer gets its refund at expiry unless the payee settles first. Running it again changes nothing.',
    z
      .object({
        data: z.string().min(1).max(90_000_000).regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64').optional(),
        file: z.string().min(1).max(4096).optional(),
      })
      .strict()
      .refine((p) => (p.data === undefined) !== (p.file === undefined), { message: 'give either data or file' }),
    ChannelRestoreSchema,
  ),
}

/** `channels`: the channel that changed (state, amounts or txids), after it was persisted. */
export const channelEvents = {
  channels: ChannelSchema,
}
