import type { PeerId, Transport } from '@libp2p/interface'
import type { TypedEventSource } from '../kit/index.js'

interface ReservationEventDetail {
  relay: PeerId
}

export interface ReservationEvents {
  'relay:created-reservation': CustomEvent<ReservationEventDetail>
  'relay:removed': CustomEvent<ReservationEventDetail>
}

/**
 * The part of @libp2p/circuit-relay-v2's (v4) client reservation store the relay keeper
 * uses. libp2p offers no public handle on it; `createNode` hands us the transport, whose
 * `reservationStore` is a public member of the class. Checked at run time (see
 * `reservationStoreOf`) so that a changed upstream degrades the keeper to dial-only
 * instead of crashing it.
 */
export interface RelayReservationStore extends TypedEventSource<ReservationEvents> {
  addRelay(peerId: PeerId, type: 'discovered' | 'configured'): Promise<unknown>
  hasReservation(peerId: PeerId): boolean
  /** `expire` is in seconds since the epoch, as the relay sent it. */
  getReservation(peerId: PeerId): { expire: bigint } | undefined
}

export function reservationStoreOf(transport: Transport | undefined): RelayReservationStore | null {
  const store = (transport as { reservationStore?: Record<string, unknown> } | undefined)?.reservationStore
  if (!store) return null
  const needed = ['addRelay', 'hasReservation', 'getReservation', 'addEventListener', 'removeEventListener']
  return needed.every((name) => typeof store[name] === 'function') ? (store as unknown as RelayReservationStore) : null
}

/** Stop waiting for `promise` when `signal` aborts; the promise's own failure is then ignored. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  promise.catch(() => {})
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}
