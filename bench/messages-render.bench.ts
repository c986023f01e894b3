// Render cost of the Messages view (issue 17): with 100,000 stored messages it opens in
// under 200 ms and stays responsive while 1,000 msgs/s arrive. Measured in Chromium
// against two daemon processes (the bundled hosts `npm run daemon` runs) on a devnet:
//
// - A's database is seeded before A runs, through the engine's own MessageRepository on
//   the schema A's migrations made: 100,000 messages in 20 conversations, one of them
//   (with the sender, below) holding most; a third sent by A (delivered), some unread,
//   full-text index caught up, as a node that has lived with them would have it.
// - Opens are timed in the page, from the click to the first animation frame showing the
//   result (conversation list; thread loaded with its newest row on screen), each in a
//   freshly loaded page. Same-run baselines: the same opens on daemon B (one stored
//   message) and, for a thread, A's near-empty conversation.
// - Then the sender (the engine's MessagingService on its own libp2p node in this process:
//   the real protocol, without an HTTP API in front, which on two shared cores could not
//   offer 1,000/s) sends 1,000 msgs/s to A for 10 s, paced, with bounded concurrency, while
//   A's page shows that thread; the page's frame gaps, timer lag, long tasks and typing
//   latency are compared with the same page idle, and each message's time from A's store
//   to A's screen is measured.
//
// MSGBENCH_NO_BUILD=1 skips the host and renderer builds; MSGBENCH_TRACE=1 adds the traced
// and profiled open (always added when an open misses its goal).
//
// Heavy (two daemons, a devnet and Chromium on the same cores): run it alone, under
// `flock /tmp/e2e.lock`, since it rebuilds dist/renderer as the e2e suite does.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type Browser, type Page, chromium } from '@playwright/test'
import { MessageRepository } from '../main/p2p/messaging/message-repository.js'
import { newMessageId } from '../main/p2p/messaging/message-id.js'
import { messagingMigrations } from '../main/p2p/messaging/migrations.js'
import { type TestPeer, startPeer } from '../main/p2p/messaging/test/fixtures.js'
import { Store } from '../main/store/index.js'
import { ok } from '../test/helpers/devnet-daemons.js'
import { type DaemonProc, type DevnetProc, ROOT, startDaemon, startDevnet, tempDir, useBundledHosts, waitFor } from '../test/helpers/processes.js'
import { type OpenTiming, PAGE_PROBE, type ProbeReport } from './messages-render-page.js'
import { type BenchResult, round, summarise } from './types.js'

/** The launch flags of e2e/playwright.config.ts: Debian's Chromium, never a downloaded one. */
const CHROMIUM = {
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
}
const VIEWPORT = { width: 1200, height: 800 }
const OPEN_TIMEOUT_MS = 15_000
const GOAL_OPEN_MS = 200

const WORDS =
  'the a to and of we you it for on is at this that channel payment send sats later tomorrow meeting invoice coffee thanks sure okay node relay address wallet block fee confirm refund settle open close price lunch call ready done yes no maybe soon tonight morning friday'.split(' ')

/** Deterministic text of 3 to 40 words, as people write (mulberry32 on the index). */
function textFor(i: number): string {
  let s = (i + 0x6d2b79f5) | 0
  const rnd = (): number => {
    s = (s + 0x6d2b79f5) | 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const n = 3 + Math.floor(rnd() * rnd() * 38)
  const out: string[] = []
  for (let w = 0; w < n; w++) out.push(WORDS[Math.floor(rnd() * WORDS.length)]!)
  return `${out.join(' ')} #${i}`
}

interface Seeded {
  /** peer → newest seq and how many messages. */
  conversations: Map<string, { newest: number; total: number }>
  ms: number
}

/**
 * Writes `total` messages into a stopped daemon's database through the engine's
 * repository, in one transaction: `big` with `bigPeer`, `tiny` with `tinyPeer`, the rest
 * spread evenly over `others`; interleaved in time as real conversations are.
 */
async function seed(dataDir: string, plan: { bigPeer: string; big: number; tinyPeer: string; tiny: number; others: string[]; perOther: number }): Promise<Seeded> {
  const t0 = performance.now()
  const store = new Store({ dataDir, migrations: messagingMigrations })
  await store.start()
  try {
    const repo = new MessageRepository(store)
    const remaining = new Map<string, number>([[plan.bigPeer, plan.big], [plan.tinyPeer, plan.tiny], ...plan.others.map((p) => [p, plan.perOther] as [string, number])])
    const peers = [...remaining.keys()]
    const total = [...remaining.values()].reduce((a, b) => a + b, 0)
    const conversations = new Map<string, { newest: number; total: number }>()
    // 30 days of history up to a minute ago, one message every ~26 s on average.
    const end = Date.now() - 60_000
    const step = Math.floor((30 * 24 * 3600 * 1000) / total)
    let cursor = 0
    store.db.transaction(() => {
      for (let i = 0; i < total; i++) {
        // Weighted pick: the conversation with most left is picked most (deterministic).
        cursor = (cursor + 7919) % total
        let acc = 0
        let peer = peers[0]!
        const left = [...remaining.values()].reduce((a, b) => a + b, 0)
        const target = cursor % left
        for (const p of peers) {
          acc += remaining.get(p)!
          if (target < acc) {
            peer = p
            break
          }
        }
        remaining.set(peer, remaining.get(peer)! - 1)
        const sentAt = end - (total - i) * step
        const n = conversations.get(peer) ?? { newest: 0, total: 0 }
        let seq: number
        if (i % 3 === 2) {
          seq = repo.insertOutbound(peer, newMessageId(sentAt), textFor(i), sentAt, sentAt + 7 * 24 * 3600 * 1000)
          repo.setOutboundStatusBySeq(seq, 'delivered', sentAt + 40)
        } else {
          const got = repo.insertInbound(peer, newMessageId(sentAt), textFor(i), sentAt, sentAt + 40)
          if (got === null) throw new Error('seed: duplicate message id')
          seq = got
        }
        conversations.set(peer, { newest: seq, total: n.total + 1 })
      }
      // Read up to the end, but for a few unread in some conversations.
      peers.forEach((p, k) => {
        const c = conversations.get(p)!
        repo.markRead(p, Math.max(0, c.newest - (k % 4 === 0 ? 0 : k % 5)))
      })
    })()
    while (repo.indexPending(20_000) > 0);
    if (repo.count() !== total) throw new Error(`seed: ${repo.count()} rows stored, ${total} planned`)
    return { conversations, ms: performance.now() - t0 }
  } finally {
    await store.stop()
  }
}

function writeConfig(dir: string): void {
  // A takes 1,000 msgs/s from one peer: the default per-peer budget is 200/s (burst 400).
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ wallet: { syncIntervalMs: 5_000 }, chain: { pollIntervalMs: 5_000 }, messaging: { ratePerSec: 2_000, burst: 4_000 } }),
  )
}

async function signedInPage(browser: Browser, d: DaemonProc): Promise<Page> {
  const context = await browser.newContext({ viewport: VIEWPORT })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(err.message))
  await page.addInitScript({ content: PAGE_PROBE })
  await page.goto(`${d.apiUrl}/`)
  await page.getByLabel('API token').fill(d.token)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('[data-testid="app"][data-ready="true"]').waitFor({ timeout: 30_000 })
  if (problems.length > 0) throw new Error(`page errors: ${problems.join('; ')}`)
  return page
}

/** A fresh page load (the token is kept in the tab's session storage) at `hash`, app ready. */
async function reload(page: Page, d: DaemonProc, hash: string): Promise<void> {
  // Through a blank page: a goto that changes only the fragment would not load anything.
  await page.goto('about:blank')
  await page.goto(`${d.apiUrl}/${hash}`)
  await page.locator('[data-testid="app"][data-ready="true"]').waitFor({ timeout: 30_000 })
  // Let the load's own work (snapshot, first paints) settle, so the click is what is timed.
  await page.waitForTimeout(300)
}

type OpenArgs = { click?: string; hash?: string; kind: 'list' | 'thread'; arg: Record<string, unknown>; timeoutMs?: number }

async function timeOpen(page: Page, o: OpenArgs): Promise<OpenTiming> {
  try {
    return (await page.evaluate(`window.__msgbench.open(${JSON.stringify({ timeoutMs: OPEN_TIMEOUT_MS, ...o })})`)) as OpenTiming
  } catch (err) {
    // What the page showed when it did not get there, for whoever reads the failure.
    const shot = join(tmpdir(), `msgbench-failed-open-${Date.now()}.png`)
    await page.screenshot({ path: shot }).catch(() => {})
    throw new Error(`${String(err)} (screenshot: ${shot})`, { cause: err })
  }
}

const listArgs = (count: number): OpenArgs => ({ click: '[data-testid="nav-messages"]', kind: 'list', arg: { count } })
const threadArgs = (peer: string, newest?: number): OpenArgs => ({ click: `[data-conversation="${peer}"]`, kind: 'thread', arg: { peer, newest } })

/** What the opens' API calls cost: the slowest call of each open, as p50. */
function apiShare(timings: OpenTiming[]): string {
  const slowest = timings.map((t) => Math.max(0, ...t.api.map((a) => a.start + a.duration)))
  const paths = [...new Set(timings.flatMap((t) => t.api.map((a) => a.path.replace('/api/', ''))))].join(', ') || 'none'
  const longTasks = timings.flatMap((t) => t.longTasks)
  const outside = timings.filter((t) => !t.inViewport).length
  const phases = `phases p50: API answered ${round(summarise(slowest).p50, 1)}, DOM committed ${round(summarise(timings.map((t) => t.dom)).p50, 1)}, first frame ${round(summarise(timings.map((t) => t.frame)).p50, 1)} ms`
  return `${phases}; API calls: ${paths}; long tasks in the opens: ${longTasks.length}, longest ${round(Math.max(0, ...longTasks), 1)} ms${outside > 0 ? `; in ${outside} of ${timings.length} opens it was below the window's fold (page scroll needed)` : ''}`
}

function figure(name: string, timings: number[], extra: Partial<BenchResult>): BenchResult {
  const s = summarise(timings)
  return { name, unit: 'ms', value: round(s.p50, 1), p50: round(s.p50, 1), p95: round(s.p95, 1), p99: round(s.p99, 1), max: round(s.max, 1), samples: s.samples, ...extra }
}

const verdict = (ok: boolean): string => (ok ? 'goal met' : 'GOAL MISSED')

/**
 * Where a thread open spends its time: one open under a Chromium trace, the renderer main
 * thread's self time by trace event between the page's marks, largest first.
 */
async function tracedOpen(browser: Browser, page: Page, d: DaemonProc, peer: string, newest: number): Promise<string> {
  await reload(page, d, '#/messages')
  await page.locator('[data-conversation]').first().waitFor({ timeout: OPEN_TIMEOUT_MS })
  await browser.startTracing(page, { categories: ['devtools.timeline', 'blink.user_timing', 'v8.execute', 'disabled-by-default-devtools.timeline'] })
  let buf: Buffer
  try {
    await timeOpen(page, threadArgs(peer, newest))
  } finally {
    buf = await browser.stopTracing()
  }
  type Ev = { name: string; ph: string; ts: number; dur?: number; pid: number; tid: number; args?: { name?: string } }
  const events = (JSON.parse(buf.toString('utf8')) as { traceEvents: Ev[] }).traceEvents
  const main = events.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain' && events.some((m) => m.pid === e.pid && m.name === 'msgbench-open-start'))
  const start = events.find((e) => e.name === 'msgbench-open-start')?.ts
  const end = events.find((e) => e.name === 'msgbench-open-end')?.ts
  if (!main || start === undefined || end === undefined) return 'trace: marks or renderer thread not found'
  const spans = events.filter((e) => e.ph === 'X' && e.pid === main.pid && e.tid === main.tid && e.dur !== undefined && e.ts >= start && e.ts < end).sort((a, b) => a.ts - b.ts || b.dur! - a.dur!)
  // Self time: each event's duration less its direct children's.
  const self = new Map<string, number>()
  const stack: Ev[] = []
  for (const e of spans) {
    while (stack.length > 0 && stack[stack.length - 1]!.ts + stack[stack.length - 1]!.dur! <= e.ts) stack.pop()
    const parent = stack[stack.length - 1]
    self.set(e.name, (self.get(e.name) ?? 0) + e.dur!)
    if (parent) self.set(parent.name, (self.get(parent.name) ?? 0) - e.dur!)
    stack.push(e)
  }
  const busy = [...self.values()].reduce((a, b) => a + b, 0)
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 7).map(([n, us]) => `${n} ${round(us / 1000, 1)}`)
  return `traced open ${round((end - start) / 1000, 1)} ms, main thread busy ${round(busy / 1000, 1)} ms: ${top.join(', ')} (ms self time)`
}

type ProfileNode = { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }

/** `work` under V8's sampling profiler in the page: JavaScript self time by function, largest first. */
async function profiled(page: Page, d: DaemonProc, work: () => Promise<unknown>): Promise<string> {
  const cdp = await page.context().newCDPSession(page)
  let profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }
  try {
    await cdp.send('Profiler.enable')
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 })
    await cdp.send('Profiler.start')
    await work()
    profile = (await cdp.send('Profiler.stop')).profile as unknown as typeof profile
  } finally {
    await cdp.detach().catch(() => {})
  }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<string, { us: number; frame: ProfileNode['callFrame'] }>()
  let idle = 0
  profile.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame
    if (f.functionName === '(idle)') {
      idle += profile.timeDeltas[i] ?? 0
      return
    }
    const key = `${f.functionName}|${f.url}|${f.lineNumber}|${f.columnNumber}`
    const entry = self.get(key) ?? { us: 0, frame: f }
    entry.us += profile.timeDeltas[i] ?? 0
    self.set(key, entry)
  })
  const total = [...self.values()].reduce((a, b) => a + b.us, 0)
  // Minified names say little: each bundle function is shown with the start of its code.
  const sources = new Map<string, string[]>()
  const describe = async (f: ProfileNode['callFrame']): Promise<string> => {
    const name = f.functionName || '(anonymous)'
    if (!f.url.startsWith(d.apiUrl)) return name
    if (!sources.has(f.url)) sources.set(f.url, (await (await fetch(f.url)).text()).split('\n'))
    const code = sources.get(f.url)![f.lineNumber]?.slice(f.columnNumber, f.columnNumber + 90) ?? ''
    return `${name} «${code}»`
  }
  const top = await Promise.all([...self.values()].sort((a, b) => b.us - a.us).slice(0, 7).map(async (e) => `${await describe(e.frame)} ${round(e.us / 1000, 1)}`))
  return `main thread ${round(total / 1000, 1)} ms busy, ${round(idle / 1000, 1)} ms idle (sampled): ${top.join('; ')} (ms self time; "(program)" is the browser's own work: style, layout, paint, IPC)`
}

/**
 * Paces `rate` messages per second for `seconds` from the sender's messaging service (the
 * real protocol over a real libp2p connection; no HTTP in front of it), at most
 * `maxInFlight` unanswered at once. Each answer comes once A acknowledged storing it.
 */
async function flood(sender: TestPeer, to: string, rate: number, seconds: number, maxInFlight: number): Promise<{ ids: string[]; statuses: Map<string, number>; offeredPerSec: number; lastResolvedAt: number; sendMs: number }> {
  const ids: string[] = []
  const statuses = new Map<string, number>()
  const count = (status: string): void => {
    statuses.set(status, (statuses.get(status) ?? 0) + 1)
  }
  const send = (i: number): Promise<void> =>
    sender.service.sendMessage(to, `flood ${i}: ${textFor(i)}`).then(
      (r) => {
        ids.push(r.id)
        count(r.status)
      },
      (err: unknown) => count(`refused ${(err as Error).name}`),
    )
  const total = rate * seconds
  const pending = new Set<Promise<void>>()
  let launched = 0
  const t0 = performance.now()
  while (launched < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate))
    while (launched < due && pending.size < maxInFlight) {
      const p = send(launched++).finally(() => pending.delete(p))
      pending.add(p)
    }
    await new Promise((r) => setTimeout(r, 5))
  }
  const sendMs = performance.now() - t0
  await Promise.all(pending)
  return { ids, statuses, offeredPerSec: total / (sendMs / 1000), lastResolvedAt: Date.now(), sendMs }
}

interface Sizes {
  total: number
  opens: number
  floodRate: number
  floodSeconds: number
  idleSeconds: number
}

export async function runMessagesRenderBench(opts: { quick?: boolean } = {}): Promise<BenchResult[]> {
  const sizes: Sizes = opts.quick ? { total: 100_000, opens: 5, floodRate: 1_000, floodSeconds: 5, idleSeconds: 5 } : { total: 100_000, opens: 12, floodRate: 1_000, floodSeconds: 10, idleSeconds: 10 }
  // What `npm run daemon` serves: the bundled hosts and the built renderer (the e2e suite builds it the same way).
  if (process.env.MSGBENCH_NO_BUILD !== '1') {
    execFileSync(process.execPath, ['scripts/build-main.mjs', '--hosts'], { cwd: ROOT, stdio: 'ignore' })
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' })
  }
  useBundledHosts()
  const aDir = tempDir('bench-msgrender-a-')
  const bDir = tempDir('bench-msgrender-b-')
  let devnet: DevnetProc | null = null
  let a: DaemonProc | null = null
  let b: DaemonProc | null = null
  let browser: Browser | null = null
  let sender: TestPeer | null = null
  const results: BenchResult[] = []
  try {
    // The peer of the big conversation, and the flood's sender: the engine's messaging
    // service on its own libp2p node in this process.
    sender = await startPeer({ listen: ['/ip4/127.0.0.1/tcp/0'], init: { maxQueuedPerPeer: 100_000 } })
    devnet = await startDevnet()
    writeConfig(aDir.path)
    writeConfig(bDir.path)
    const args = ['--chain-url', devnet.url]
    ;[a, b] = await Promise.all([startDaemon(aDir.path, args, {}, { logLevel: 'warn' }), startDaemon(bDir.path, args, {}, { logLevel: 'warn' })])
    // A made its database (every migration) and identity; it stops for the seed and comes back on it.
    const aPeer = a.peerId
    await a.kill()
    a = null
    const others = await Promise.all(Array.from({ length: 18 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
    const tinyPeer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const perOther = 1_000
    const tiny = 5
    const seeded = await seed(aDir.path, { bigPeer: sender.peerId, big: sizes.total - perOther * others.length - tiny, tinyPeer, tiny, others, perOther })
    process.stderr.write(`  seeded ${sizes.total} messages in ${round(seeded.ms / 1000, 1)} s\n`)
    a = await startDaemon(aDir.path, args, {}, { logLevel: 'warn' })
    if (a.peerId !== aPeer) throw new Error('A came back with another identity')
    const bAddr = ((await b.health()).multiaddrs as string[]).find((m) => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//.test(m))
    if (!bAddr) throw new Error('B has no direct address')
    await ok(a, 'connectPeer', { multiaddr: bAddr })
    await ok(a, 'connectPeer', { multiaddr: sender.libp2p.getMultiaddrs()[0]!.toString() })
    // One message first from each: the paths work, and B has a conversation of its own (the baseline).
    const first = await ok<{ status: string }>(b, 'sendMessage', { peerId: a.peerId, text: 'hello before the bench' })
    if (first.status !== 'delivered') throw new Error(`warm-up message from B ${first.status}`)
    const hello = await sender.service.sendMessage(a.peerId, 'hello from the big conversation')
    if (hello.status !== 'delivered') throw new Error(`warm-up message from the sender ${hello.status}`)
    const big = sender.peerId
    const bigNewest = (await ok<{ seq: number }[]>(a, 'listMessages', { peerId: big, limit: 1 }))[0]!.seq
    const tinyNewest = seeded.conversations.get(tinyPeer)!.newest
    // The seeded ones, and B's.
    const conversationCount = seeded.conversations.size + 1

    browser = await chromium.launch({ ...CHROMIUM, headless: true })

    // Baselines on B: the same opens with one stored message.
    const bPage = await signedInPage(browser, b)
    const bList: OpenTiming[] = []
    const bThread: OpenTiming[] = []
    for (let i = 0; i < sizes.opens; i++) {
      await reload(bPage, b, '#/overview')
      bList.push(await timeOpen(bPage, listArgs(1)))
      bThread.push(await timeOpen(bPage, threadArgs(a.peerId)))
    }
    await bPage.context().close()
    // B's part is done: its CPU goes back to the rest.
    await b.kill()
    b = null

    // A: each sample in a fresh page load: the Messages view, then the big thread and the
    // near-empty one (order alternating, so each is the first thread opened half the time),
    // then the big one again (its data may now be cached: the warm figure).
    const page = await signedInPage(browser, a)
    const aList: OpenTiming[] = []
    const bigCold: OpenTiming[] = []
    const tinyCold: OpenTiming[] = []
    const bigWarm: OpenTiming[] = []
    const deepLink: number[] = []
    for (let i = 0; i < sizes.opens; i++) {
      await reload(page, a, '#/overview')
      aList.push(await timeOpen(page, listArgs(conversationCount)))
      if (i % 2 === 0) {
        bigCold.push(await timeOpen(page, threadArgs(big, bigNewest)))
        tinyCold.push(await timeOpen(page, threadArgs(tinyPeer, tinyNewest)))
      } else {
        tinyCold.push(await timeOpen(page, threadArgs(tinyPeer, tinyNewest)))
        bigCold.push(await timeOpen(page, threadArgs(big, bigNewest)))
      }
      await timeOpen(page, threadArgs(tinyPeer, tinyNewest))
      bigWarm.push(await timeOpen(page, threadArgs(big, bigNewest)))
    }
    // The app started at #/messages: from navigation start to the list on screen.
    for (let i = 0; i < Math.min(5, sizes.opens); i++) {
      await page.goto('about:blank')
      await page.goto(`${a.apiUrl}/#/messages`)
      await page.locator('[data-conversation]').nth(conversationCount - 1).waitFor({ timeout: 30_000 })
      deepLink.push(await (page.evaluate(`new Promise((r) => requestAnimationFrame(() => r(performance.now())))`) as Promise<number>))
    }

    const listS = summarise(aList.map((t) => t.frame))
    const bigS = summarise(bigCold.map((t) => t.frame))
    const bListP50 = summarise(bList.map((t) => t.frame)).p50
    const tinyP50 = summarise(tinyCold.map((t) => t.frame)).p50
    results.push(
      figure(`Messages view first open, ${sizes.total.toLocaleString('en-US')} stored (${conversationCount} conversations listed)`, aList.map((t) => t.frame), {
        baseline: round(bListP50, 1), baselineName: 'same open on B, 1 message', ratio: round(listS.p50 / bListP50, 2), target: `< ${GOAL_OPEN_MS} ms`,
        note: `${verdict(listS.p95 < GOAL_OPEN_MS)} at p95 (max ${round(listS.max, 1)} ms); click to first frame showing the list; ${apiShare(aList)}`,
      }),
      figure(`thread open, ${(seeded.conversations.get(big)!.total + 1).toLocaleString('en-US')} messages, first in the page`, bigCold.map((t) => t.frame), {
        baseline: round(tinyP50, 1), baselineName: `near-empty thread (${tiny} messages), same page`, ratio: round(bigS.p50 / tinyP50, 2), target: `< ${GOAL_OPEN_MS} ms`,
        note: `${verdict(bigS.p95 < GOAL_OPEN_MS)} at p95 (max ${round(bigS.max, 1)} ms); click to the first frame with the thread loaded and its newest row on screen; ${bigCold[0]!.rows} rows in the DOM; ${apiShare(bigCold)}`,
      }),
      figure('thread open again (after another thread)', bigWarm.map((t) => t.frame), { target: `< ${GOAL_OPEN_MS} ms`, note: `${verdict(summarise(bigWarm.map((t) => t.frame)).p95 < GOAL_OPEN_MS)} at p95; ${apiShare(bigWarm)}` }),
      figure('baseline: Messages view first open on B (1 message)', bList.map((t) => t.frame), { note: apiShare(bList) }),
      figure('baseline: thread open on B (1 message)', bThread.map((t) => t.frame), {}),
      figure('app loaded at #/messages, navigation start to the list on screen', deepLink, { note: 'includes the page load, sign-in with the kept token and the first snapshot' }),
    )
    if (bigS.p95 >= GOAL_OPEN_MS || listS.p95 >= GOAL_OPEN_MS || process.env.MSGBENCH_TRACE === '1') {
      const where = await tracedOpen(browser, page, a, big, bigNewest).catch((err: unknown) => `trace failed: ${String(err)}`)
      await reload(page, a, '#/messages')
      await page.locator('[data-conversation]').first().waitFor({ timeout: OPEN_TIMEOUT_MS })
      const js = await profiled(page, a, () => timeOpen(page, threadArgs(big, bigNewest))).catch((err: unknown) => `profile failed: ${String(err)}`)
      results.push({ name: 'where a big thread open spends its time (one traced open, one profiled open)', unit: 'ms', value: Number.NaN, note: `${where} | ${js}` })
    }

    // Responsiveness: A's page on the big thread, idle, then while B floods it.
    await reload(page, a, '#/overview')
    await timeOpen(page, listArgs(conversationCount))
    await timeOpen(page, threadArgs(big, bigNewest))
    const compose = page.locator(`[data-thread="${big}"] textarea`).first()
    const canType = (await compose.count()) > 0
    const typeWhile = async (ms: number): Promise<number> => {
      if (!canType) return 0
      let keys = 0
      const until = Date.now() + ms
      await compose.focus()
      while (Date.now() < until) {
        await page.keyboard.press('x')
        keys++
        await new Promise((r) => setTimeout(r, 100))
      }
      await compose.fill('')
      return keys
    }
    await page.evaluate('window.__msgbench.start()')
    const idleKeys = await typeWhile(sizes.idleSeconds * 1000)
    const idle = (await page.evaluate('window.__msgbench.stop()')) as ProbeReport

    await page.evaluate('window.__msgbench.start()')
    const floodStart = Date.now()
    const [sent, floodKeys] = await Promise.all([flood(sender, a.peerId, sizes.floodRate, sizes.floodSeconds, 1_000), typeWhile(sizes.floodSeconds * 1000)])
    const lastSeq = (await ok<{ seq: number }[]>(a, 'listMessages', { peerId: big, limit: 1 }))[0]!.seq
    let lastShownAt: number | null = null
    let catchUpError = ''
    try {
      await waitFor(`seq ${lastSeq} on screen`, async () => {
        lastShownAt = (await page.evaluate(`window.__msgbench.seen(${lastSeq})`)) as number | null
        return lastShownAt !== null
      }, 30_000, 25)
    } catch (err) {
      catchUpError = String(err)
    }
    const busy = (await page.evaluate('window.__msgbench.stop()')) as ProbeReport
    // The unread count shown for B against the engine's, after the flood.
    const engineUnread = (await ok<{ byPeer: Record<string, number> }>(a, 'getUnread')).byPeer[big] ?? 0
    const shownUnread = await page.locator(`[data-conversation="${big}"]`).first().getAttribute('data-unread', { timeout: 2_000 }).catch(() => null)
    const navUnread = await page.locator('[data-testid="nav-unread"]').getAttribute('data-unread', { timeout: 500 }).catch(() => '0')
    const engineTotal = (await ok<{ total: number }>(a, 'getUnread')).total

    // Store → screen per flood message: A's receivedAt (its commit) to the row's arrival in the DOM.
    const floodIds = new Set(sent.ids)
    const received = new Map<number, number>()
    let before: number | undefined
    for (let pageNo = 0; pageNo < Math.ceil(sent.ids.length / 500) + 2; pageNo++) {
      const batch = await ok<{ seq: number; id: string; receivedAt: string | null }[]>(a, 'listMessages', { peerId: big, limit: 500, ...(before ? { before } : {}) })
      if (batch.length === 0) break
      for (const m of batch) if (floodIds.has(m.id) && m.receivedAt) received.set(m.seq, Date.parse(m.receivedAt))
      before = batch[batch.length - 1]!.seq
    }
    const lags: number[] = []
    for (const [seq, at] of received) {
      const shown = busy.appeared[String(seq)]
      if (shown !== undefined) lags.push(Math.max(0, shown - at))
    }
    const floodWindowS = (sent.sendMs + (lastShownAt !== null ? Math.max(0, (lastShownAt as number) - sent.lastResolvedAt) : 0)) / 1000
    const gapsIdle = summarise(idle.frameGaps)
    const gapsBusy = summarise(busy.frameGaps)
    const lagIdle = summarise(idle.timerLags)
    const lagBusy = summarise(busy.timerLags)
    const longBusy = busy.longTasks.map((l) => l.duration)
    const longIdle = idle.longTasks.map((l) => l.duration)
    const responsive = gapsBusy.p99 < 50 && gapsBusy.max < 200
    const statuses = [...sent.statuses.entries()].map(([k, v]) => `${v} ${k}`).join(', ')
    const deliveredRate = (sent.statuses.get('delivered') ?? 0) / ((sent.lastResolvedAt - floodStart) / 1000)
    results.push(
      {
        name: `flood: messages to A, offered ${sizes.floodRate}/s for ${sizes.floodSeconds} s`, unit: 'msgs/s', value: round(deliveredRate, 0), samples: sizes.floodRate * sizes.floodSeconds,
        target: `>= ${sizes.floodRate * 0.95}/s delivered`, note: `${statuses}; offered ${round(sent.offeredPerSec, 0)}/s by the sender's messaging service (real protocol, no HTTP); A's per-peer budget raised to 2,000/s (default 200/s)`,
      },
      {
        name: 'flood: frame gap in A\'s open thread (rAF)', unit: 'ms', value: round(gapsBusy.p99, 1), p50: round(gapsBusy.p50, 1), p95: round(gapsBusy.p95, 1), p99: round(gapsBusy.p99, 1), max: round(gapsBusy.max, 1), samples: gapsBusy.samples,
        baseline: round(gapsIdle.p99, 1), baselineName: `p99 same page idle (max ${round(gapsIdle.max, 1)})`, ratio: round(gapsBusy.p99 / gapsIdle.p99, 2),
        target: 'p99 < 50 ms, max < 200 ms', note: `${verdict(responsive)}; value = p99; window ${round(busy.windowMs / 1000, 1)} s incl. catch-up`,
      },
      {
        name: 'flood: main-thread lag (20 ms timer lateness)', unit: 'ms', value: round(lagBusy.p99, 1), p50: round(lagBusy.p50, 1), p95: round(lagBusy.p95, 1), p99: round(lagBusy.p99, 1), max: round(lagBusy.max, 1), samples: lagBusy.samples,
        baseline: round(lagIdle.p99, 1), baselineName: 'p99 same page idle', ratio: round(lagBusy.p99 / Math.max(0.1, lagIdle.p99), 2), note: 'value = p99',
      },
      {
        name: 'flood: long tasks (> 50 ms) on A\'s page', unit: 'ms', value: round(longBusy.reduce((s, v) => s + v, 0), 0), max: round(Math.max(0, ...longBusy), 1), samples: longBusy.length,
        baseline: round(longIdle.reduce((s, v) => s + v, 0), 0), baselineName: `same page idle (${longIdle.length} tasks)`,
        note: `value = total long-task time over the ${round(busy.windowMs / 1000, 1)} s window (${round((longBusy.reduce((s, v) => s + v, 0) / busy.windowMs) * 100, 1)} % of it)`,
      },
      canType
        ? {
            name: 'flood: typing in the thread\'s compose box, input to next paint', unit: 'ms', value: round(Math.max(0, ...busy.slowEvents.map((e) => e.duration)), 0), samples: floodKeys,
            baseline: round(Math.max(0, ...idle.slowEvents.map((e) => e.duration)), 0), baselineName: `max idle (${idleKeys} keys)`,
            target: 'max < 200 ms (INP "good")', note: `value = slowest key event; ${busy.slowEvents.length} key events over 16 ms while flooded, ${idle.slowEvents.length} idle`,
          }
        : { name: 'flood: typing latency', unit: 'ms', value: Number.NaN, note: `not measured: no textarea in [data-thread="${big}"]` },
      lags.length > 0
        ? figure('flood: each message from A\'s store to its row in the DOM', lags, {
            target: '< 1,000 ms', note: `${lags.length} of ${received.size} flood messages seen added to the DOM (a windowed list may skip some); ${busy.rows} rows in the DOM at the end`,
          })
        : { name: 'flood: store to DOM', unit: 'ms', value: Number.NaN, note: `no flood row seen in the DOM; ${busy.rows} rows at the end` },
      {
        name: 'flood: last message on screen after the last send was acknowledged', unit: 'ms', value: lastShownAt === null ? Number.NaN : round(Math.max(0, (lastShownAt as number) - sent.lastResolvedAt), 0),
        target: '< 1,000 ms', note: `${lastShownAt === null ? `GOAL MISSED: ${catchUpError}` : verdict((lastShownAt as number) - sent.lastResolvedAt < 1000)}; seq ${lastSeq}; unread shown for the conversation ${shownUnread ?? 'none'} (engine ${engineUnread}), in the menu ${navUnread} (engine ${engineTotal}); over ${round(floodWindowS, 1)} s`,
      },
    )
    if (!responsive || process.env.MSGBENCH_TRACE === '1') {
      // Where the flooded page's time goes: a shorter flood at the same rate under the profiler.
      const seconds = Math.min(3, sizes.floodSeconds)
      const where = await profiled(page, a, () => flood(sender!, a!.peerId, sizes.floodRate, seconds, 1_000)).catch((err: unknown) => `profile failed: ${String(err)}`)
      results.push({ name: `where the flooded page spends its time (${seconds} s profiled)`, unit: 'ms', value: Number.NaN, note: where })
    }
    return results
  } finally {
    await browser?.close().catch(() => {})
    await Promise.all([a?.kill(), b?.kill(), sender?.stop()])
    await devnet?.kill()
    aDir.remove()
    bDir.remove()
  }
}
