// `npm run demo`: a whole network on this machine, with no internet. A devnet chain that
// mines a block every few seconds, a circuit relay, and two wallets (alice and bob) on free
// ports, both funded from the faucet and connected to each other. Prints their web UI
// addresses with the tokens to sign in; Ctrl-C stops everything (and exits 0).
//   npm run demo -- [--data-dir DIR] [--block-interval-ms N] [--fund SATS]
// Without --data-dir the wallets live in a fresh temporary folder, removed on exit.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const { values } = parseArgs({
  options: { 'data-dir': { type: 'string' }, 'block-interval-ms': { type: 'string', default: '3000' }, fund: { type: 'string', default: '1000000' }, help: { type: 'boolean', short: 'h' } },
})
if (values.help) {
  process.stdout.write('usage: npm run demo -- [--data-dir DIR] [--block-interval-ms N] [--fund SATS]\n')
  process.exit(0)
}
const blockInterval = Number(values['block-interval-ms'])
const fund = Number(values.fund)
if (!Number.isSafeInteger(blockInterval) || blockInterval < 0 || !Number.isSafeInteger(fund) || fund < 1000) {
  process.stderr.write('demo: --block-interval-ms must be a whole number >= 0 and --fund at least 1000\n')
  process.exit(2)
}
const temporary = values['data-dir'] === undefined
const base = values['data-dir'] ? resolve(values['data-dir']) : mkdtempSync(join(tmpdir(), 'bsv-p2p-demo-'))
mkdirSync(base, { recursive: true, mode: 0o700 })

/** @type {{ name: string, child: import('node:child_process').ChildProcess, exited: Promise<number | string> }[]} */
const procs = []
let stopping = false

function run(name, entry, args) {
  const child = spawn(process.execPath, [join(root, entry), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let tail = ''
  child.stderr.on('data', (chunk) => {
    tail = (tail + chunk.toString()).slice(-4000)
  })
  const exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit(code ?? signal ?? -1)))
  const proc = { name, child, exited, tail: () => tail }
  procs.push(proc)
  exited.then((code) => {
    if (!stopping) fail(`${name} exited (${code}) before the demo was stopped:\n${tail}`)
  })
  return proc
}

/** The first stdout line of a process, within a deadline. */
function firstLine(proc, timeoutMs = 60_000) {
  return new Promise((resolveLine, reject) => {
    const rl = createInterface({ input: proc.child.stdout })
    const timer = setTimeout(() => reject(new Error(`${proc.name} printed nothing within ${timeoutMs} ms:\n${proc.tail()}`)), timeoutMs)
    rl.once('line', (line) => {
      clearTimeout(timer)
      rl.close()
      resolveLine(line)
    })
  })
}

async function api(daemon, method, params = {}) {
  const res = await fetch(`${daemon.apiUrl}/api/${method}`, { method: 'POST', headers: { Authorization: `Bearer ${daemon.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(params) })
  const body = await res.json()
  if (!body.ok) throw new Error(`${daemon.name} ${method}: ${body.error.code} ${body.error.message}`)
  return body.result
}

async function waitFor(what, check, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

async function stop(code) {
  if (stopping) return
  stopping = true
  process.stdout.write('\nstopping…\n')
  // Wallets first (they close their channels' streams and their databases), then the relay and the chain.
  for (const group of [procs.filter((p) => p.name !== 'devnet' && p.name !== 'relay'), procs.filter((p) => p.name === 'relay'), procs.filter((p) => p.name === 'devnet')]) {
    for (const p of group) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM')
    await Promise.race([Promise.all(group.map((p) => p.exited)), new Promise((r) => setTimeout(r, 8000))])
    for (const p of group) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
  }
  if (temporary) rmSync(base, { recursive: true, force: true })
  process.exit(code)
}

function fail(message) {
  process.stderr.write(`demo: ${message}\n`)
  void stop(1)
}

process.on('SIGINT', () => void stop(0))
process.on('SIGTERM', () => void stop(0))

async function main() {
  const devnet = run('devnet', 'dist/devnet/cli.js', ['--host', '127.0.0.1', '--port', '0', '--block-interval-ms', String(blockInterval), '--log-level', 'warn'])
  const chainUrl = await firstLine(devnet)
  const relay = run('relay', 'dist/relay/cli.js', ['--host', '127.0.0.1', '--port', '0', '--data-dir', join(base, 'relay'), '--log-level', 'warn'])
  const relayAddr = await firstLine(relay)
  const wallets = []
  for (const name of ['alice', 'bob']) {
    const dataDir = join(base, name)
    const proc = run(name, 'dist/daemon/cli.js', [
      '--network', 'devnet', '--chain-url', chainUrl, '--data-dir', dataDir, '--p2p-host', '127.0.0.1', '--p2p-port', '0', '--api-port', '0', '--no-mdns', '--relay', relayAddr, '--log-level', 'warn',
    ])
    const ready = JSON.parse(await firstLine(proc))
    wallets.push({ name, proc, dataDir, apiUrl: ready.apiUrl, peerId: ready.peerId, multiaddrs: ready.multiaddrs, token: readFileSync(join(dataDir, 'api-token'), 'utf8').trim() })
  }
  const [alice, bob] = wallets
  for (const w of wallets) {
    const { address } = await api(w, 'getWallet')
    const res = await fetch(`${chainUrl}/devnet/faucet`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ address, satoshis: fund }) })
    if (res.status !== 200) throw new Error(`the faucet answered ${res.status}: ${await res.text()}`)
  }
  const direct = bob.multiaddrs.find((m) => m.startsWith('/ip4/127.0.0.1/tcp/') && !m.includes('/p2p-circuit'))
  await api(alice, 'connectPeer', { multiaddr: direct })
  for (const w of wallets) {
    await waitFor(`${w.name}'s coins`, async () => {
      const { balance } = await api(w, 'getWallet')
      return balance.confirmed + balance.unconfirmed >= fund
    })
  }
  const lines = [
    '',
    `Demo running (chain ${chainUrl}, a block every ${blockInterval ? `${blockInterval / 1000} s` : 'request'}; data in ${base}${temporary ? ', removed on exit' : ''}).`,
    ...wallets.flatMap((w) => [`  ${w.name.padEnd(5)} ${w.apiUrl}   token ${w.token}`, `        peer ${w.peerId}`]),
    '',
    'Open a URL, sign in with its token, and open a channel from alice to bob (paste bob’s peer id).',
    'Ctrl-C stops everything.',
    '',
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  process.stdout.write(`${JSON.stringify({ demo: 'ready', chainUrl, relay: relayAddr, wallets: wallets.map((w) => ({ name: w.name, apiUrl: w.apiUrl, token: w.token, peerId: w.peerId })) })}\n`)
}

main().catch((err) => fail(err instanceof Error ? err.message : String(err)))
