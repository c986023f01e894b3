import { type Channel, ContractError, PeerIdTextSchema } from '../../shared/contract/index.js'
import { duration, formatSats } from './human.js'

/** Smallest channel the service opens (openChannel's schema). */
export const MIN_CAPACITY_SATS = 1000
/** About ten minutes per block: good enough for "in about 3 hours". */
const SECONDS_PER_BLOCK = 600
export const EXAMPLE_PEER_ID = '12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ'

/** Each state in words, and its badge tone. */
export const CHANNEL_STATE_TEXT: Record<Channel['state'], { label: string; tone: 'ok' | 'warn' | 'muted' | 'bad' }> = {
  proposed: { label: 'Proposed', tone: 'warn' },
  funding: { label: 'Funding', tone: 'warn' },
  open: { label: 'Open', tone: 'ok' },
  closing: { label: 'Closing', tone: 'warn' },
  closed: { label: 'Closed', tone: 'muted' },
  refunded: { label: 'Refunded', tone: 'muted' },
  failed: { label: 'Failed', tone: 'bad' },
  rejected: { label: 'Rejected', tone: 'bad' },
}

// Ed25519 (12D3KooW…), RSA (Qm…) and secp256k1 (16Uiu2…) peer ids in base58.
const PEER_ID_SHAPE = /^(12D3KooW[1-9A-HJ-NP-Za-km-z]{44}|Qm[1-9A-HJ-NP-Za-km-z]{44}|16Uiu2[1-9A-HJ-NP-Za-km-z]{47})$/

/** Why a text is not a peer id to open a channel to, in one sentence, or null. */
export function peerIdProblem(input: string, ownPeerId?: string): string | null {
  const text = input.trim()
  if (text === '') return 'Choose a peer or paste their peer ID.'
  if (text.startsWith('/')) return 'That is a peer address. Paste only the peer ID, the part after /p2p/.'
  if (!PeerIdTextSchema.safeParse(text).success || !PEER_ID_SHAPE.test(text)) return `That is not a peer ID. A peer ID looks like ${EXAMPLE_PEER_ID.slice(0, 12)}… (52 characters).`
  if (ownPeerId && text === ownPeerId) return 'That is your own node. A channel needs another peer.'
  if (text === EXAMPLE_PEER_ID) return 'That is the example peer ID, not a real peer. Pick a connected peer or paste their peer ID.'
  return null
}

export type SatsInput = { sats: number; problem: null } | { sats: null; problem: string }

/**
 * An amount typed by a person: whole satoshis only (spaces, commas and underscores as
 * grouping are fine), between `min` and `max`; `maxWhy` says what the upper bound is.
 */
export function parseSats(input: string, bounds: { min: number; max?: number; maxWhy?: (max: number) => string; what: string }): SatsInput {
  const text = input.trim().replace(/[\s,_\u2009]/g, '')
  if (text === '') return { sats: null, problem: `Enter the ${bounds.what} in satoshis.` }
  if (!/^\d+$/.test(text)) return { sats: null, problem: `The ${bounds.what} must be a whole number of satoshis, for example 25000.` }
  const sats = Number(text)
  if (!Number.isSafeInteger(sats)) return { sats: null, problem: `That ${bounds.what} is far too large.` }
  if (sats < bounds.min) return { sats: null, problem: `The ${bounds.what} must be at least ${formatSats(bounds.min)}.` }
  if (bounds.max !== undefined && sats > bounds.max) return { sats: null, problem: bounds.maxWhy ? bounds.maxWhy(bounds.max) : `The ${bounds.what} can be at most ${formatSats(bounds.max)}.` }
  return { sats, problem: null }
}

/** What the payer can still pay: the capacity less the settlement fee and what was paid. */
export function remainingSats(c: Channel): number {
  return Math.max(0, c.capacitySats - c.settlementFeeSats - c.paidSats)
}

/** A channel's capacity split into what was paid, the settlement's fee and what is left; the four add up. */
export interface ChannelBreakdown {
  capacitySats: number
  paidSats: number
  feeSats: number
  leftSats: number
  /** The sum in words, e.g. "10 000 sats capacity = 2 000 sats paid + 520 sats settlement fee + 7 480 sats left to pay". */
  text: string
}

export function channelBreakdown(c: Channel): ChannelBreakdown {
  const left = remainingSats(c)
  // Paid + fee can only pass the capacity in a channel that holds less than its fee; then the fee shown is what it can take.
  const fee = Math.min(c.settlementFeeSats, Math.max(0, c.capacitySats - c.paidSats))
  const payer = c.role === 'payer'
  const live = c.state === 'proposed' || c.state === 'funding' || c.state === 'open'
  const leftWords = payer ? (live ? 'left to pay' : 'back to you') : live ? 'can still be received' : 'back to the payer'
  const text = `${formatSats(c.capacitySats)} capacity = ${formatSats(c.paidSats)} ${payer ? 'paid' : 'received'} + ${formatSats(fee)} settlement fee + ${formatSats(left)} ${leftWords}`
  return { capacitySats: c.capacitySats, paidSats: c.paidSats, feeSats: fee, leftSats: left, text }
}

/** The states an owner can archive a channel in (it ended; nothing of it is left to watch). */
export function isArchivable(c: Channel): boolean {
  return c.archivedAt === null && (c.state === 'closed' || c.state === 'refunded' || c.state === 'failed' || c.state === 'rejected')
}

/** "in 12 blocks (about 2 h)", "now" once reached; null when the height is unknown. */
export function blocksUntil(target: number, height: number | null | undefined): { blocks: number; text: string } | null {
  if (height == null) return null
  const blocks = target - height
  if (blocks <= 0) return { blocks: 0, text: 'now' }
  return { blocks, text: `in ${blocks.toLocaleString('en-US')} block${blocks === 1 ? '' : 's'} (about ${duration(blocks * SECONDS_PER_BLOCK)})` }
}

/** Why a channel failed, in a person's words: what happened and where the coins are. */
export const CHANNEL_FAILURE_TEXT: Record<NonNullable<Channel['failure']>, string> = {
  'proposal-expired': 'The proposal expired before the channel was funded. No coins moved.',
  'funding-timeout': 'The funding was not confirmed in time to use the channel. No payment went through it.',
  'funding-mismatch': 'The transaction given as funding does not pay this channel. Nothing was accepted on it.',
  'funding-lost': 'The funding transaction was refused or double-spent and can never be mined. Nothing is locked in this channel.',
  interrupted: 'The app stopped while the channel was being opened, before anything was sent. No coins moved.',
  'insufficient-funds': 'The wallet did not have enough coins to fund the channel. No coins moved.',
  'peer-unreachable': 'The peer could not be reached while opening. No coins moved.',
  'peer-refused': 'The peer refused, or answered against the protocol, while opening. No coins moved.',
  cancelled: 'Withdrawn before anything was sent. No coins moved.',
  unrecorded: 'This channel failed before its reason was recorded. No coins moved.',
}

/** A problem's badge: each of these can cost money if nobody looks. */
export const CHANNEL_PROBLEM_TITLE: Record<NonNullable<Channel['problem']>['code'], string> = {
  'settle-failing': 'Settling is failing',
  'refund-failing': 'The refund is failing',
  'funding-failing': 'The funding cannot be sent',
  'peer-misbehaved': 'The peer broke the rules',
}

/** A payer can withdraw a channel only while nothing of its coins can be on chain. */
export function isCancellable(c: Channel): boolean {
  return c.role === 'payer' && (c.state === 'proposed' || (c.state === 'funding' && (c.step === 'accepted' || c.step === 'built')))
}

function confirmations(c: Channel): string {
  if (c.requiredConfirmations == null || c.requiredConfirmations === 0) return ''
  const seen = c.fundingConfirmations ?? 0
  return ` (${seen.toLocaleString('en-US')} of ${c.requiredConfirmations.toLocaleString('en-US')} confirmation${c.requiredConfirmations === 1 ? '' : 's'})`
}

/** One line on where a pending channel stands and what comes next. */
export function channelProgress(c: Channel, height: number | null | undefined): string | null {
  const expiry = blocksUntil(c.expiry, height)
  const refundAt = `block ${c.expiry.toLocaleString('en-US')}${expiry ? `, ${expiry.text}` : ''}`
  switch (c.state) {
    case 'proposed':
      if (c.role === 'payee') return 'This peer asks to open a channel that pays you. Accept it to receive payments.'
      return c.step === 'awaiting-accept' ? 'Waiting for the peer to accept the channel (the peer decides by hand)…' : 'Waiting for the peer to accept the channel…'
    case 'funding':
      if (c.role === 'payer') {
        if (c.step === 'broadcast') return `Funding on chain. Waiting for the peer to open the channel${confirmations(c)}… If it never does, the refund returns your coins at ${refundAt}.`
        if (c.step === 'refund-signed') return 'Refund signed and stored. Sending the funding transaction' + (height != null ? ` (chain at block ${height.toLocaleString('en-US')})…` : '…')
        return 'Building the funding transaction and getting the refund signed…'
      }
      return c.step === 'refund-signed' ? `Waiting for the payer’s funding to be confirmed${confirmations(c)}…` : 'Accepted. Waiting for the payer’s funding transaction…'
    case 'closing':
      if (c.settlementTxid) return 'Settlement sent. Waiting for a block to confirm it' + (height != null ? ` (chain at block ${height.toLocaleString('en-US')})…` : '…')
      if (c.refundTxid) return 'Refund sent. Waiting for a block to confirm it…'
      return c.role === 'payer' ? (c.paidSats === 0 ? `Nothing was paid, so the refund returns the funds at ${refundAt}.` : `Waiting for the peer to settle; if it does not, the refund returns the unpaid coins at ${refundAt}.`) : 'Closing…'
    default:
      return null
  }
}

/** When a payer's refund becomes valid, as closeChannel's `unavailable` details give it. */
export interface RefundWait {
  refundHeight: number
  blocksLeft: number
  /** Hours until then; null when not given (it is then reckoned from the blocks). */
  hoursLeft: number | null
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

/** The refund details of a close the payee could not answer; null for any other failure. */
export function refundWait(err: unknown): RefundWait | null {
  if (!(err instanceof ContractError) || err.code !== 'unavailable' || !err.details) return null
  const { refundHeight, blocksLeft, hoursLeft } = err.details
  if (!isCount(refundHeight) || !isCount(blocksLeft)) return null
  return { refundHeight, blocksLeft, hoursLeft: isCount(hoursLeft) ? hoursLeft : null }
}

/** "about 5 hours from now", "less than an hour from now", "about 3 days from now". */
export function hoursFromNow(hours: number): string {
  if (hours < 1) return 'less than an hour from now'
  const h = Math.round(hours)
  if (h < 48) return `about ${h} hour${h === 1 ? '' : 's'} from now`
  const days = Math.round(hours / 24)
  return `about ${days} days from now`
}

/**
 * What a payer can do when closing found the payee away: close again once they are back,
 * or wait for the refund, which returns the coins from its block (now, once it is reached).
 */
export function payeeAwayCloseText(w: RefundWait): string {
  const block = `block ${w.refundHeight.toLocaleString('en-US')}`
  const start = 'The payee cannot be reached. Close again when they are back, or the coins come back to you by the refund'
  if (w.blocksLeft <= 0) return `${start} from ${block}: the refund can be broadcast now.`
  const hours = w.hoursLeft ?? (w.blocksLeft * SECONDS_PER_BLOCK) / 3600
  return `${start} from ${block} (${hoursFromNow(hours)}).`
}

/** A failed close in words when it is the payee being away; null otherwise (the usual words apply). */
export function closeFailureHint(err: unknown): string | null {
  const w = refundWait(err)
  return w ? payeeAwayCloseText(w) : null
}

/**
 * The line under Open about the channel it made, as that channel is now: a proposal that
 * opened says so, and one that closed, failed or was refused leaves no line behind.
 */
export function openOutcome(peer: string, answered: Channel['state'], now: Channel['state']): string | null {
  if (now === 'open') return `Channel to ${peer} is open.`
  if (now === 'proposed') return `Proposed to ${peer}. It opens once they accept.`
  if (now === 'funding' && answered === 'funding') return `Channel to ${peer} is funding.`
  return null
}

/** One sentence a screen reader says about a channel: who pays whom, its state, and what moved. */
function channelSummary(c: Channel, peer: string): string {
  const who = c.role === 'payer' ? `You pay ${peer}` : `${peer} pays you`
  return `${who}: ${CHANNEL_STATE_TEXT[c.state].label.toLowerCase()}, ${formatSats(c.paidSats)} ${c.role === 'payer' ? 'paid' : 'received'}.`
}

/**
 * What the channel list's one live region says after a change: the summaries of the channels
 * that changed since `before` (new ones included), or null when none did. The first snapshot
 * (an empty `before`) is shown, not announced.
 */
export function channelAnnouncement(before: ReadonlyMap<string, string>, channels: readonly Channel[], peerOf: (c: Channel) => string): { summaries: Map<string, string>; text: string | null } {
  const summaries = new Map(channels.map((c) => [c.id, channelSummary(c, peerOf(c))]))
  if (before.size === 0) return { summaries, text: null }
  const changed = [...summaries].filter(([id, text]) => before.get(id) !== text).map(([, text]) => text)
  return { summaries, text: changed.length > 0 ? changed.join(' ') : null }
}
