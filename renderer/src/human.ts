import { ContractError, type ErrorCode, type HealthStatus, type RelayState } from '../../shared/contract/index.js'

/** Words a person understands for each relay state: what it is and what it means for them. */
export const RELAY_TEXT: Record<RelayState, { label: string; meaning: string }> = {
  reserved: { label: 'Reachable through the relay', meaning: 'Peers behind NAT can reach you.' },
  connecting: { label: 'Relay unreachable', meaning: 'Direct connections still work; retrying in the background.' },
  unavailable: { label: 'Relay unreachable', meaning: 'Direct connections still work; retrying in the background.' },
  disabled: { label: 'No relay configured', meaning: 'Only peers that can dial you directly will reach you.' },
}

export const HEALTH_TEXT: Record<HealthStatus | 'unknown' | 'disconnected' | 'reconnecting', { label: string; headline: string }> = {
  ok: { label: 'Healthy', headline: 'Everything is working' },
  degraded: { label: 'Degraded', headline: 'Working with reduced reach' },
  down: { label: 'Offline', headline: 'The node is not running' },
  unknown: { label: 'Connecting…', headline: 'Connecting to your wallet…' },
  reconnecting: { label: 'Reconnecting…', headline: 'Lost the connection to your wallet' },
  disconnected: { label: 'Disconnected', headline: 'Not connected to your wallet' },
}

// Formatters made once: toLocale*String with options builds a new one per call, which a
// thread rendering a thousand rows a second paid for (measured in the messages-render bench).
const SECONDS = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' })
const MINUTES = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit' })
const DAY = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short' })

function withDay(d: Date, time: string, now: number): string {
  return new Date(now).toDateString() === d.toDateString() ? time : `${DAY.format(d)} ${time}`
}

/** "14:02:09" for today, "3 Jan 14:02:09" for an earlier day. */
export function clockTime(ms: number, now = Date.now()): string {
  const d = new Date(ms)
  return withDay(d, SECONDS.format(d), now)
}

/** "14:02" for today, "3 Jan 14:02" for an earlier day: to the minute, for messages and since-when lines. */
export function shortClock(ms: number, now = Date.now()): string {
  const d = new Date(ms)
  return withDay(d, MINUTES.format(d), now)
}

const CODE_TEXT: Partial<Record<ErrorCode, string>> = {
  unauthorized: 'That token was not accepted. Copy it again from the api-token file in the data folder.',
  forbidden: 'The wallet service refused this request.',
  unavailable: 'The wallet service cannot be reached right now. It retries on its own; try again in a moment.',
  timeout: 'That took too long and was stopped. Check the address and try again.',
  rate_limited: 'Too many requests at once. Wait a moment and try again.',
  payload_too_large: 'That is too large to send.',
  internal: 'Something went wrong inside the wallet service. The details are in its log.',
  unknown_method: 'This wallet service is a different version and does not know that action.',
  not_found: 'That no longer exists.',
  conflict: 'That clashes with what the other side already holds. Nothing was changed.',
  invalid_state: 'That cannot be done in the current state.',
  insufficient_funds: 'There is not enough money for that.',
  rejected: 'The other side refused that.',
  wrong_passphrase: 'That passphrase is not right.',
  wrong_network: 'That belongs to another network.',
  invalid_address: 'That is not a valid address.',
}

/** One sentence for a failure, never a stack; ContractError messages are already meant for people. */
export function humanError(err: unknown): string {
  if (err instanceof ContractError) {
    if (err.code === 'invalid_params') return humanInvalidParams(err)
    if (err.code === 'insufficient_funds') {
      const { available, needed } = (err.details ?? {}) as { available?: unknown; needed?: unknown }
      // The numbers from the details, formatted as everywhere else (the service's own text has raw digits).
      if (Number.isSafeInteger(available) && Number.isSafeInteger(needed)) return notEnoughCoins(available as number, needed as number)
    }
    return CODE_TEXT[err.code] && !isSpecific(err) ? CODE_TEXT[err.code]! : capitalise(err.message)
  }
  return 'Something went wrong. Please try again.'
}

/** The one wording of a shortfall: what can be spent and what was needed, fee included. */
function notEnoughCoins(available: number, needed: number): string {
  return `Not enough coins: ${formatSats(available)} can be spent, and this needs ${formatSats(needed)} with the fee.`
}

export function isUnauthorized(err: unknown): boolean {
  return err instanceof ContractError && err.code === 'unauthorized'
}

/** The engine's own messages for these codes say more than a generic line would. */
function isSpecific(err: ContractError): boolean {
  return !['unauthorized', 'internal', 'unknown_method'].includes(err.code) && err.message.length > 0 && !/^internal error$/i.test(err.message)
}

function humanInvalidParams(err: ContractError): string {
  const issues = (err.details?.issues as { path: string; message: string }[] | undefined) ?? []
  const first = issues[0]
  if (first) return `${capitalise(first.path === '(root)' ? 'input' : first.path)} ${first.message.replace(/^must\b/, 'must')}.`.replace(/\.\.$/, '.')
  return capitalise(err.message)
}

function capitalise(text: string): string {
  const t = text.trim()
  return t ? t[0]!.toUpperCase() + t.slice(1) : t
}

/** "just now", "5 minutes ago", "3 days ago"; a date far back. */
export function relativeTime(iso: string, now: number = Date.now()): string {
  const then = Date.parse(iso)
  if (Number.isNaN(then)) return 'unknown'
  const s = Math.round((now - then) / 1000)
  if (s < 45) return 'just now'
  const units: [number, string][] = [
    [60, 'minute'],
    [3600, 'hour'],
    [86400, 'day'],
  ]
  if (s >= 30 * 86400) return new Date(then).toISOString().slice(0, 10)
  let value = 0
  let name = 'minute'
  for (const [size, unit] of units) {
    if (s >= size * 0.75) {
      value = Math.max(1, Math.round(s / size))
      name = unit
    }
  }
  return `${value} ${name}${value === 1 ? '' : 's'} ago`
}

export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min`
  const h = Math.floor(m / 60)
  if (h < 48) return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`
  return `${Math.floor(h / 24)} days`
}

/** 12D3KooWAbc…xyz9: enough to tell peers apart at a glance. */
export function shortPeerId(peerId: string): string {
  return peerId.length <= 16 ? peerId : `${peerId.slice(0, 10)}…${peerId.slice(-6)}`
}

/** Satoshis with thin-space grouping; integers only, never floats. */
export function formatSats(sats: number | bigint): string {
  const text = BigInt(sats).toString()
  const negative = text.startsWith('-')
  const digits = negative ? text.slice(1) : text
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009')
  return `${negative ? '−' : ''}${grouped} sat${digits === '1' ? '' : 's'}`
}

/** Labels for config limit keys; an unknown key gets a readable form of its own name. */
const LIMIT_LABELS: Record<string, string> = {
  maxConnections: 'Connections at most',
  inboundConnectionThreshold: 'Inbound connection attempts per second per host',
  maxIncomingPendingConnections: 'Pending inbound connections at most',
  peerDirectoryMax: 'Peers remembered at most',
  peerDirectoryTtlMs: 'Forget a silent peer after',
}

export function limitLabel(key: string): string {
  return LIMIT_LABELS[key] ?? capitalise(key.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase())
}

export function limitValue(key: string, value: number): string {
  if (/Ms$/.test(key)) return duration(value / 1000)
  if (/Bytes$/.test(key)) return bytes(value)
  return value.toLocaleString('en-US')
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KiB`
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`
}
