// ops/grafana/dashboard.json against a real daemon's /metrics: every panel (and the
// instance variable) queries metrics the daemon exports, histogram quantiles are taken over
// histograms, and every query goes through the dashboard's datasource variable. A panel
// that names a metric nobody exports draws nothing forever; this is where it fails instead.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { METRIC_PREFIX } from '../main/telemetry/metrics.js'
import { type DaemonProc, type DevnetProc, type RelayProc, ROOT, freePort, startDaemon, startDevnet, startRelay, tempDir, waitFor } from './helpers/processes.js'

interface Target {
  expr: string
  datasource?: { type?: string; uid?: string }
}
interface Panel {
  type: string
  title: string
  datasource?: { type?: string; uid?: string }
  targets?: Target[]
}
interface Dashboard {
  panels: Panel[]
  templating: { list: { name: string; type: string; query: unknown; definition?: string }[] }
}

const dashboard = JSON.parse(readFileSync(join(ROOT, 'ops', 'grafana', 'dashboard.json'), 'utf8')) as Dashboard

/** `# TYPE name kind` lines: what the endpoint exports, sampled yet or not. */
function exportedMetrics(text: string): Map<string, string> {
  const types = new Map<string, string>()
  for (const line of text.split('\n')) {
    const m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/.exec(line)
    if (m) types.set(m[1]!, m[2]!)
  }
  return types
}

/** Metric names in a PromQL expression: ours all carry the prefix. */
function referencedMetrics(expr: string): string[] {
  return [...new Set(expr.match(new RegExp(`\\b${METRIC_PREFIX}[a-zA-Z0-9_]+\\b`, 'g')) ?? [])]
}

/** Why `name` is not served by `types`, or null when it is (a histogram's series by their suffix). */
function unexported(name: string, types: Map<string, string>): string | null {
  if (types.has(name)) return null
  const m = /^(.*)_(bucket|sum|count)$/.exec(name)
  if (!m) return `${name} is not exported`
  const base = types.get(m[1]!)
  if (base === 'histogram') return null
  if (base === 'summary' && m[2] !== 'bucket') return null
  return base === undefined ? `${name}: neither it nor ${m[1]} is exported` : `${name}: ${m[1]} is a ${base}, it has no _${m[2]}`
}

describe('Grafana dashboard against a real daemon', () => {
  const dirs = [tempDir(), tempDir()]
  let devnet: DevnetProc
  let relay: RelayProc
  let daemon: DaemonProc
  let types: Map<string, string>

  beforeAll(async () => {
    devnet = await startDevnet()
    relay = await startRelay(dirs[1]!.path, await freePort())
    daemon = await startDaemon(dirs[0]!.path, ['--chain-url', devnet.url, '--relay', relay.multiaddr], {}, { logLevel: 'warn' })
    // The relay series appear once the keeper has a state for it.
    await waitFor('relay reserved', async () => (await (await fetch(`${daemon.apiUrl}/metrics`)).text()).includes('state="reserved"} 1'), 30_000, 200)
    types = exportedMetrics(await (await fetch(`${daemon.apiUrl}/metrics`)).text())
  }, 90_000)

  afterAll(async () => {
    await Promise.all([daemon?.kill(), relay?.kill(), devnet?.kill()])
    for (const d of dirs) d.remove()
  })

  it('reads the exported metrics (the parser itself sees what is there)', () => {
    expect(types.get(`${METRIC_PREFIX}connections`)).toBe('gauge')
    expect(types.get(`${METRIC_PREFIX}channel_payment_seconds`)).toBe('histogram')
    expect(types.get(`${METRIC_PREFIX}messaging_send_wait_seconds`)).toBe('histogram')
    expect(types.get(`${METRIC_PREFIX}process_resident_memory_bytes`)).toBe('gauge')
    expect(unexported(`${METRIC_PREFIX}no_such_metric`, types)).toMatch(/not exported/)
    expect(unexported(`${METRIC_PREFIX}connections_bucket`, types)).toMatch(/is a gauge/)
    expect(unexported(`${METRIC_PREFIX}channel_payment_seconds_bucket`, types)).toBeNull()
  })

  it('every panel queries only metrics the daemon exports, through the datasource variable', () => {
    const panels = dashboard.panels.filter((p) => p.type !== 'row')
    expect(panels.length).toBeGreaterThanOrEqual(15)
    const problems: string[] = []
    for (const panel of panels) {
      if (panel.datasource?.uid !== '${datasource}') problems.push(`${panel.title}: datasource is not the $datasource variable`)
      if (!panel.targets?.length) problems.push(`${panel.title}: no query`)
      for (const target of panel.targets ?? []) {
        const names = referencedMetrics(target.expr)
        if (names.length === 0) problems.push(`${panel.title}: "${target.expr}" names no ${METRIC_PREFIX} metric`)
        for (const name of names) {
          const why = unexported(name, types)
          if (why) problems.push(`${panel.title}: ${why}`)
        }
        // A quantile needs a histogram's buckets, summed by le.
        if (target.expr.includes('histogram_quantile') && !/_bucket\{/.test(target.expr)) problems.push(`${panel.title}: histogram_quantile over no _bucket series`)
        if (target.expr.includes('histogram_quantile') && !/by \(le\b/.test(target.expr)) problems.push(`${panel.title}: histogram_quantile without sum by (le)`)
        if (target.datasource && target.datasource.uid !== '${datasource}') problems.push(`${panel.title}: a query bypasses the datasource variable`)
      }
    }
    expect(problems).toEqual([])
  })

  it('covers what the issue asks to see: relay, connections, payment and message rates and latencies, channels, event loop, heap, RSS, handles', () => {
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr).join('\n')
    for (const wanted of ['relay_state', 'relay_reservations_gained_total', 'connections', 'peers', 'channel_payments_total', 'channel_payment_seconds_bucket', 'messaging_sent_total', 'messaging_send_wait_seconds_bucket', 'channels', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes', 'process_resident_memory_bytes', 'nodejs_active_handles_total']) {
      expect(exprs, wanted).toMatch(new RegExp(`\\b${METRIC_PREFIX}${wanted}\\b`))
    }
  })

  it('the instance variable lists daemons by an exported metric', () => {
    const variable = dashboard.templating.list.find((v) => v.name === 'instance')!
    const names = referencedMetrics(variable.definition ?? '')
    expect(names.length).toBeGreaterThan(0)
    for (const name of names) expect(unexported(name, types)).toBeNull()
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' })
  })
})
