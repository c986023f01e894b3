// Daemon processes on a devnet process for the process tests and chaos scenarios: start with a small config,
// call the API expecting success, fund a wallet from the faucet.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Transaction } from '@bsv/sdk'
import { type DaemonProc, type DevnetProc, startDaemon, waitFor } from './processes.js'

export interface ChannelView {
  id: string
  state: string
  seq: number
  paidSats: number
  capacitySats: number
  settlementFeeSats: number
  settlementTxid: string | null
}

/** A daemon on the devnet, polling fast, logging only warnings (debug lines cost CPU at scale). */
export async function devnetDaemon(devnet: DevnetProc, dir: string, args: string[] = [], config: Record<string, unknown> = {}): Promise<DaemonProc> {
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ wallet: { syncIntervalMs: 500 }, chain: { pollIntervalMs: 1000 }, channels: { chainPollMs: 300 }, ...config }))
  return startDaemon(dir, ['--chain-url', devnet.url, ...args, '--log-level', 'warn'])
}

export async function ok<T>(d: DaemonProc, method: string, params: unknown = {}): Promise<T> {
  const res = await d.call<T>(method, params)
  if (!res.body.ok) throw new Error(`${method}: ${res.body.error?.code} ${res.body.error?.message}`)
  return res.body.result as T
}

/** Confirmed plus unconfirmed satoshis of a daemon's wallet. */
export async function walletTotal(d: DaemonProc): Promise<number> {
  const w = await ok<{ balance: { confirmed: number; unconfirmed: number } }>(d, 'getWallet')
  return w.balance.confirmed + w.balance.unconfirmed
}

async function faucet(devnet: DevnetProc, d: DaemonProc, sats: number): Promise<void> {
  const { address } = await ok<{ address: string }>(d, 'getWallet')
  const res = await fetch(`${devnet.url}/devnet/faucet`, { method: 'POST', body: JSON.stringify({ address, satoshis: sats }) })
  if (res.status !== 200) throw new Error(`faucet answered ${res.status}`)
}

/** Pays `sats` from the faucet; returns once the wallet holds at least that much (confirmed or not). */
export async function fundWallet(devnet: DevnetProc, d: DaemonProc, sats: number): Promise<void> {
  await faucet(devnet, d, sats)
  await waitFor('wallet funded', async () => (await walletTotal(d)) >= sats)
}

/**
 * A fresh wallet's starting balance, as the e2e specs set one up: `sats` from the faucet, a
 * block mined over it, and the wallet holding exactly `sats` (nothing more came in).
 */
export async function fundWalletMined(devnet: DevnetProc, d: DaemonProc, sats: number): Promise<void> {
  await faucet(devnet, d, sats)
  const mined = await fetch(`${devnet.url}/devnet/mine`, { method: 'POST', body: JSON.stringify({ blocks: 1 }) })
  if (mined.status !== 200) throw new Error(`mining answered ${mined.status}`)
  await waitFor('wallet funded', async () => (await walletTotal(d)) === sats, 30_000, 200)
}

/** The output amounts of a transaction the devnet holds. */
export async function txOutputs(devnet: DevnetProc, txid: string): Promise<number[]> {
  const raw = await (await fetch(`${devnet.url}/v1/bsv/devnet/tx/${txid}/hex`)).text()
  return Transaction.fromHex(raw).outputs.map((o) => o.satoshis!)
}

/** The daemon's direct TCP address on 127.0.0.1. */
export async function directAddr(d: DaemonProc): Promise<string> {
  const addrs = (await d.health()).multiaddrs as string[]
  const direct = addrs.find((m) => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//.test(m))
  if (!direct) throw new Error(`no direct address among ${addrs.join(', ')}`)
  return direct
}
