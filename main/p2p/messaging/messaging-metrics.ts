import type { Counter, Histogram } from 'prom-client'
import type { Metrics } from '../../telemetry/index.js'

export type RejectMetricReason = 'too_large' | 'bad_length' | 'invalid' | 'truncated'

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

  constructor(metrics: Metrics) {
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
    this.commitBatch = metrics.histogram({
      name: 'messaging_commit_batch_size',
      help: 'Writes per group commit',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048],
    })
  }
}
