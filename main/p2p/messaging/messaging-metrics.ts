import type { Counter, Gauge, Histogram } from 'prom-client'
import type { Metrics } from '../../telemetry/index.js'

/** Every refusal and drop is counted: an attack shows up on /metrics, not in silence. */
export class MessagingMetrics {
  readonly received: Counter
  readonly duplicates: Counter
  readonly rejected: Counter<'reason'>
  readonly rateLimited: Counter<'answered'>
  readonly sent: Counter
  readonly sendFailures: Counter<'code'>
  readonly retries: Counter
  readonly storeFailures: Counter
  readonly commitBatch: Histogram
  readonly refusals: Counter<'code'>
  readonly sendWait: Histogram
  readonly queued: Gauge<'peer'>
  readonly pending: Gauge
  readonly expired: Counter
  readonly peersAway: Counter
  readonly oldestWait: Gauge<'peer'>

  /** `peers`: each peer with an outbound session, its waiting messages and how long the oldest has waited (ms). */
  constructor(
    metrics: Metrics,
    peers: () => Iterable<{ peerId: string; size: number; oldestWaitMs: number }> = () => [],
    pendingTotal: () => number = () => 0,
  ) {
    this.pending = metrics.gauge({
      name: 'messaging_outbound_pending',
      help: 'Outbound messages not yet delivered, for all peers (kept while a peer is away; bounded by messaging.maxPendingTotal)',
      collect() {
        this.set(pendingTotal())
      },
    })
    this.expired = metrics.counter({ name: 'messaging_expired_total', help: 'Outbound messages that failed because their peer stayed away past messaging.pendingExpiryMs' })
    this.peersAway = metrics.counter({ name: 'messaging_peer_away_total', help: 'Times a peer with messages waiting could not be reached (its messages were kept for later)' })
    this.received = metrics.counter({ name: 'messaging_received_total', help: 'Direct messages received and stored' })
    this.duplicates = metrics.counter({ name: 'messaging_duplicates_total', help: 'Received messages whose id was already stored (retries, replays)' })
    this.rejected = metrics.counter({
      name: 'messaging_frames_rejected_total',
      help: 'Inbound frames refused: too_large, bad_length, invalid (schema), truncated (stream ended mid-frame)',
      labelNames: ['reason'],
    })
    this.rateLimited = metrics.counter({
      name: 'messaging_rate_limited_total',
      help: 'Inbound frames dropped by the per-peer token bucket; answered says whether a rate_limited nack was sent',
      labelNames: ['answered'],
    })
    this.sent = metrics.counter({ name: 'messaging_sent_total', help: 'Outbound messages acknowledged by their peer' })
    this.sendFailures = metrics.counter({ name: 'messaging_send_failures_total', help: 'Outbound messages that failed, by error code', labelNames: ['code'] })
    this.retries = metrics.counter({ name: 'messaging_stream_retries_total', help: 'Outbound streams reopened after a dial or stream failure' })
    this.storeFailures = metrics.counter({ name: 'messaging_store_failures_total', help: 'Message writes that failed to commit' })
    this.refusals = metrics.counter({ name: 'messaging_refusals_total', help: 'Our outbound messages a peer refused, by its code (rate_limited ones are sent again at its pace)', labelNames: ['code'] })
    this.sendWait = metrics.histogram({
      name: 'messaging_send_wait_seconds',
      help: 'From sendMessage to the peer acknowledging the stored message (queueing and pacing included)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    })
    // One series per peer with a live session (sessions close when idle), read at scrape time.
    this.queued = metrics.gauge({
      name: 'messaging_outbound_queued',
      help: 'Messages waiting or in flight to a peer',
      labelNames: ['peer'],
      collect() {
        this.reset()
        for (const p of peers()) this.set({ peer: p.peerId }, p.size)
      },
    })
    this.oldestWait = metrics.gauge({
      name: 'messaging_outbound_oldest_wait_seconds',
      help: 'How long the oldest message waiting for a peer has waited',
      labelNames: ['peer'],
      collect() {
        this.reset()
        for (const p of peers()) this.set({ peer: p.peerId }, p.oldestWaitMs / 1000)
      },
    })
    this.commitBatch = metrics.histogram({
      name: 'messaging_commit_batch_size',
      help: 'Writes per group commit',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048],
    })
  }
}
