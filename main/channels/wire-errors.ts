// The boundary between the channel wire's error codes (protocol 2, versioned with it) and
// the local API's: a code either side adds later never changes what the other reads.
import { ContractError, type ErrorCode } from '../../shared/contract/index.js'
import { BroadcastRejectedError } from '../chain/index.js'
import { ChannelPeerError, ChannelRefusal, type WireErrorCode } from './protocol.js'
import { MailboxFullError } from './channel-mailbox.js'

/** What the API says when the peer (or the link) answered with this. */
const FROM_WIRE: Readonly<Record<WireErrorCode | 'link_lost' | 'timeout', ErrorCode>> = {
  malformed: 'rejected',
  unknown_channel: 'not_found',
  unexpected: 'invalid_state',
  conflict: 'conflict',
  refused: 'rejected',
  bad_signature: 'rejected',
  limit: 'rate_limited',
  busy: 'rate_limited',
  unavailable: 'unavailable',
  internal: 'unavailable',
  link_lost: 'unavailable',
  timeout: 'timeout',
}

/** What a peer is sent when a local check threw a ContractError. */
const TO_WIRE: Partial<Record<ErrorCode, WireErrorCode>> = {
  invalid_params: 'refused',
  not_found: 'unknown_channel',
  conflict: 'conflict',
  invalid_state: 'unexpected',
  rate_limited: 'limit',
  unavailable: 'unavailable',
  timeout: 'unavailable',
  insufficient_funds: 'refused',
  wrong_network: 'refused',
  invalid_address: 'refused',
  forbidden: 'bad_signature',
  rejected: 'refused',
}

export function asContractError(err: unknown): Error {
  if (err instanceof ContractError) return err
  if (err instanceof ChannelPeerError) return new ContractError(FROM_WIRE[err.code], `the peer: ${err.message}`, { peerCode: err.code })
  if (err instanceof ChannelRefusal) return new ContractError(FROM_WIRE[err.code], err.message)
  if (err instanceof MailboxFullError) return new ContractError('rate_limited', err.message)
  if (err instanceof BroadcastRejectedError) return new ContractError('rejected', `the chain refused the transaction (${err.reason})`, { reason: err.reason })
  return err instanceof Error ? err : new Error(String(err))
}

/** The wire code for what a handler threw; `null` for an unexpected error (the caller logs it and sends `internal`). */
export function wireCodeOf(err: unknown): WireErrorCode | null {
  if (err instanceof ChannelRefusal) return err.code
  if (err instanceof MailboxFullError) return 'busy'
  if (err instanceof ContractError) return TO_WIRE[err.code] ?? null
  return null
}
