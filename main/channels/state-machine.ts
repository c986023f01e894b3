// Pure channel lifecycle decisions: which event may move a channel from which status, and
// whether a payment update is acceptable. No I/O; the channel engine persists the result.
import { DEFAULT_DUST_LIMIT, MAX_SATOSHIS } from './constants.js'

export const CHANNEL_STATUSES = ['proposed', 'funding', 'open', 'closing', 'closed', 'refunded', 'failed', 'rejected'] as const
export type ChannelStatus = (typeof CHANNEL_STATUSES)[number]

export const CHANNEL_EVENTS = [
  'accept', 'reject', 'open', 'closeRequested', 'settlementBroadcast', 'refundBroadcast', 'settlementConfirmed', 'refundConfirmed', 'fail', 'fundingLost',
] as const
export type ChannelEvent = (typeof CHANNEL_EVENTS)[number]

/**
 * The whole lifecycle, as statuses. The typed record of each status (records.ts) says
 * what it holds; this table says which moves exist at all. Rules that shape it:
 * - `fail` is legal only before the funding can be on chain (proposed, funding): once it
 *   may be, the channel ends `closed` (a settlement confirmed) or `refunded`.
 * - `funding` becomes `open` only on a funding output verified on chain (decideChainAction).
 * - A payer whose payee never opened takes its refund at expiry: funding → closing.
 * - `fundingLost`: the funding can never be mined (double-spent); nothing is in the 2-of-2.
 * - A settlement or refund seen while `open` (the other side closed) goes straight to
 *   `closing`, or to its end when confirmed; repeated notices keep the status.
 */
const TRANSITIONS: Readonly<Record<ChannelStatus, Partial<Record<ChannelEvent, ChannelStatus>>>> = {
  proposed: { accept: 'funding', reject: 'rejected', fail: 'failed' },
  funding: { open: 'open', fail: 'failed', fundingLost: 'failed', refundBroadcast: 'closing', refundConfirmed: 'refunded' },
  open: {
    closeRequested: 'closing',
    settlementBroadcast: 'closing',
    refundBroadcast: 'closing',
    settlementConfirmed: 'closed',
    refundConfirmed: 'refunded',
    fundingLost: 'failed',
  },
  closing: {
    closeRequested: 'closing',
    settlementBroadcast: 'closing',
    refundBroadcast: 'closing',
    settlementConfirmed: 'closed',
    refundConfirmed: 'refunded',
    fundingLost: 'failed',
  },
  closed: {},
  refunded: {},
  failed: {},
  rejected: {},
}

export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError'
  constructor(
    readonly from: ChannelStatus,
    readonly event: ChannelEvent,
  ) {
    super(`event '${event}' is not allowed in status '${from}'`)
  }
}

function nextStatus(from: ChannelStatus, event: ChannelEvent): ChannelStatus | undefined {
  return TRANSITIONS[from][event]
}

export function canTransition(from: ChannelStatus, event: ChannelEvent): boolean {
  return nextStatus(from, event) !== undefined
}

/** The status after `event`, or IllegalTransitionError. */
export function transition(from: ChannelStatus, event: ChannelEvent): ChannelStatus {
  const to = nextStatus(from, event)
  if (to === undefined) throw new IllegalTransitionError(from, event)
  return to
}

export function isTerminal(status: ChannelStatus): boolean {
  return Object.keys(TRANSITIONS[status]).length === 0
}

/** Funds may sit in the 2-of-2 output: the engine must watch the chain and close or refund. */
export function holdsFunds(status: ChannelStatus): boolean {
  return status === 'open' || status === 'closing'
}

type PaymentRefusalCode =
  | 'not-integer'
  | 'not-increasing'
  | 'bad-sequence'
  | 'below-dust'
  | 'exceeds-capacity'

export interface PaymentCheck {
  capacity: number
  /** Cumulative amount of the last accepted settlement (0 before the first payment). */
  paidSats: number
  newPaidSats: number
  seq: number
  newSeq: number
  /** The settlement fee agreed at open. */
  feeSats: number
  dustLimit?: number
}

export type PaymentVerdict = { ok: true; amountSats: number } | { ok: false; code: PaymentRefusalCode; message: string }

const refuse = (code: PaymentRefusalCode, message: string): PaymentVerdict => ({ ok: false, code, message })

/**
 * Accept a new settlement state only when: every figure is a safe integer, the sequence is
 * exactly the last plus one, the cumulative amount strictly grows, the payee's output is at
 * least dust, and the payee's amount plus the fee fits in the capacity (the payer's change
 * may fall below dust: it then goes to the fee, see buildSettlementTx).
 */
export function validatePayment(c: PaymentCheck): PaymentVerdict {
  const dust = c.dustLimit ?? DEFAULT_DUST_LIMIT
  for (const [name, v] of [['capacity', c.capacity], ['paidSats', c.paidSats], ['newPaidSats', c.newPaidSats], ['seq', c.seq], ['newSeq', c.newSeq], ['feeSats', c.feeSats], ['dustLimit', dust]] as const) {
    if (!Number.isSafeInteger(v) || v < 0 || v > (name === 'seq' || name === 'newSeq' ? Number.MAX_SAFE_INTEGER : MAX_SATOSHIS)) return refuse('not-integer', `${name} must be a non-negative safe integer`)
  }
  if (c.newSeq !== c.seq + 1) return refuse('bad-sequence', `sequence ${c.newSeq} does not follow ${c.seq}`)
  if (c.newPaidSats <= c.paidSats) return refuse('not-increasing', `the paid amount must grow beyond ${c.paidSats} sat, got ${c.newPaidSats} sat`)
  if (c.newPaidSats < Math.max(1, dust)) return refuse('below-dust', `a payee output of ${c.newPaidSats} sat is below the dust limit of ${dust} sat`)
  if (c.newPaidSats + c.feeSats > c.capacity) return refuse('exceeds-capacity', `${c.newPaidSats} sat plus the ${c.feeSats} sat fee exceed the capacity of ${c.capacity} sat`)
  return { ok: true, amountSats: c.newPaidSats - c.paidSats }
}
