// channel_payment_seconds: one observation per acknowledged payment on the payer's side,
// none for a payment that failed, so p50/p99 drawn from it are of payments that happened.
import { beforeAll, describe, expect, it } from 'vitest'
import { METRIC_PREFIX } from '../telemetry/metrics.js'
import { PAYMENT_SECONDS_BUCKETS } from './channel-engine.js'
import { type Side, usePair, waitUntil } from './test/harness.js'

async function paymentHistogram(side: Side): Promise<{ count: number; sum: number; buckets: Map<number, number> }> {
  const metric = side.engine.components.metrics.registry.getSingleMetric(`${METRIC_PREFIX}channel_payment_seconds`)
  if (!metric) throw new Error('channel_payment_seconds is not registered')
  // A histogram's values name their series (_bucket, _sum, _count).
  const { values } = (await metric.get()) as { values: { metricName?: string; labels: Record<string, string | number | undefined>; value: number }[] }
  const pick = (suffix: string): number => values.find((v) => v.metricName === `${METRIC_PREFIX}channel_payment_seconds${suffix}`)?.value ?? 0
  const buckets = new Map(values.filter((v) => v.metricName?.endsWith('_bucket')).map((v) => [v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels.le), v.value]))
  return { count: pick('_count'), sum: pick('_sum'), buckets }
}

describe('channel payment latency histogram', () => {
  let payer: Side
  let payee: Side

  const pair = usePair(1_000_000)
  beforeAll(() => {
    ;({ payer, payee } = pair)
  })

  it('observes every acknowledged payment once, sequential and pipelined, and no failed one', async () => {
    const opened = await payer.engine.open({ peerId: payee.peerId, capacitySats: 50_000 })
    await waitUntil(() => payee.engine.list()[0]?.state === 'open', 5000, 'payee open')
    expect((await paymentHistogram(payer)).count).toBe(0)

    for (let i = 0; i < 20; i++) await payer.engine.pay({ channelId: opened.id, sats: 10 })
    await Promise.all(Array.from({ length: 10 }, () => payer.engine.pay({ channelId: opened.id, sats: 5 })))
    // More than the channel holds: refused, and not a latency.
    await expect(payer.engine.pay({ channelId: opened.id, sats: 10_000_000 })).rejects.toBeDefined()

    const h = await paymentHistogram(payer)
    expect(h.count).toBe(30)
    expect(h.sum).toBeGreaterThan(0)
    // Cumulative buckets, the last one (+Inf) holding every observation.
    expect([...h.buckets.keys()].filter(Number.isFinite)).toEqual(PAYMENT_SECONDS_BUCKETS)
    expect(h.buckets.get(Number.POSITIVE_INFINITY)).toBe(30)
    // A local round trip on 127.0.0.1 finishes well inside a second.
    expect(h.buckets.get(1)).toBe(30)
    // The payee pays nothing: its histogram stays empty while its counter counts the 30.
    expect((await paymentHistogram(payee)).count).toBe(0)
    expect(await payee.engine.components.metrics.text()).toMatch(/bsv_p2p_channel_payments_total\{role="payee"\} 30/)
  }, 60_000)
})
