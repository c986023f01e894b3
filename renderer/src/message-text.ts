import type { Message } from '../../shared/contract/index.js'

/**
 * Where an outbound message stands, in words. A pending one is "Sending…" while the peer
 * is connected (it is on its way) and waits for the peer otherwise.
 */
export function outboundStatusText(status: Message['status'], peerConnected: boolean): string {
  switch (status) {
    case 'pending':
      return peerConnected ? 'Sending…' : 'Waiting for the peer — it is sent when they are back'
    case 'delivered':
      return 'Delivered'
    case 'failed':
      return 'Not delivered'
    case 'received':
      return 'Received'
  }
}

/** What a send answered: both are success; `pending` only means later. */
export function sendResultText(status: 'delivered' | 'pending'): string {
  return status === 'delivered' ? 'Delivered: the peer has stored your message.' : 'Kept: it will be delivered when the peer is reachable.'
}

/** The message a send answered, as the thread shows it until its own event arrives. */
export function sentMessage(result: { id: string; seq: number; status: 'delivered' | 'pending' }, peerId: string, text: string, now: number = Date.now()): Message {
  const at = new Date(now).toISOString()
  return { id: result.id, seq: result.seq, peerId, direction: 'out', text, sentAt: at, receivedAt: result.status === 'delivered' ? at : null, status: result.status }
}
