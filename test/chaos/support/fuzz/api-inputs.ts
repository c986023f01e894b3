// Generated params for every contract method, for the HTTP API and the IPC binding alike.
// Each starts from a valid call and is mutated; the contract's own schema says whether the
// result is still valid. Only methods whose valid calls are harmless and quick (lookups,
// refusals by the engine) may receive a schema-valid call; for the others (dialing,
// sending, closing a channel, replacing the wallet, rewriting settings) a valid result gets one unknown key, which every strict
// params schema refuses, so the barrage never dials a random address or restores a wallet.
import { randomBytes } from 'node:crypto'
import { METHOD_NAMES, type MethodName, isMethodName, methods } from '../../../../shared/contract/index.js'
import { type Json, NASTY_STRINGS, mutate } from './json-mutator.js'
import type { Prng } from './prng.js'

export interface ApiContext {
  /** A peer id of the right shape (the target's own). */
  peerId: string
  /** An address of the target's network. */
  address: string
  /** A real channel id (of a channel the target is in). */
  channelId: string
}

/** Methods that may get a schema-valid call from the barrage: it must then answer without a 5xx. */
export const SAFE_WHEN_VALID: ReadonlySet<MethodName> = new Set<MethodName>([
  'getHealth', 'listPeers', 'listMessages', 'searchMessages', 'getSettings', 'getProfile', 'updateProfile', 'getWallet', 'listTransactions', 'previewSend', 'send',
  'acceptChannel', 'rejectChannel', 'pay', 'listChannels', 'archiveChannel', 'getChannel',
])

const hex32 = (r: Prng): string => (r.chance(0.5) ? randomBytes(16).toString('hex') : r.pick(['0'.repeat(32), 'f'.repeat(32)]))

function base(r: Prng, name: MethodName, ctx: ApiContext): Json {
  switch (name) {
    case 'connectPeer':
      return { multiaddr: `/ip4/127.0.0.1/tcp/1/p2p/${ctx.peerId}` }
    case 'sendMessage':
      return { peerId: ctx.peerId, text: 'hello' }
    case 'listMessages':
      return r.pick<Json>([{}, { limit: r.between(1, 500) }, { peerId: ctx.peerId, before: r.between(1, 1e6) }])
    case 'searchMessages':
      return { query: r.chance(0.5) ? r.pick(NASTY_STRINGS).slice(0, 512) : r.text(r.int(20)), limit: r.between(1, 500) }
    case 'send':
      return { address: ctx.address, sats: r.between(1, 1e9) }
    case 'previewSend':
      return r.pick<Json>([{ address: ctx.address, sats: r.between(1, 1e9) }, { sats: r.between(1, 1e9) }, { address: ctx.address, max: true }, { max: true }])
    case 'updateProfile':
      return { name: r.chance(0.2) ? null : r.text(r.between(1, 64)), services: r.chance(0.5) ? [] : [{ name: 'fuzz', priceSats: r.between(0, 1e6), description: r.text(r.int(40)) }] }
    case 'updateSettings':
      // Never schema-valid in the barrage (it rewrites the config file), so its checks are what get exercised.
      return r.pick<Json>([{ logLevel: r.pick(['debug', 'info']) }, { relays: [`/ip4/127.0.0.1/tcp/${r.between(1, 65535)}/p2p/${ctx.peerId}`] }, { limits: { maxConnections: r.between(1, 10_000) } }])
    case 'listTransactions':
      return r.pick<Json>([{}, { limit: r.between(1, 500) }, { before: r.between(1, 1e9) }])
    case 'backupWallet':
      return { passphrase: 'not the passphrase' }
    case 'restoreWallet':
      return { mnemonic: `${'abandon '.repeat(11)}about` }
    case 'openChannel':
      return { peerId: ctx.peerId, capacitySats: r.between(1000, 1e8) }
    case 'acceptChannel':
    case 'rejectChannel':
    case 'closeChannel':
    case 'archiveChannel':
    case 'getChannel':
      return { channelId: r.chance(0.3) ? ctx.channelId : hex32(r) }
    case 'pay':
      return { channelId: r.chance(0.3) ? ctx.channelId : hex32(r), sats: r.between(1, 1e9), memo: 'fuzz' }
    default:
      return {}
  }
}

/** Whether the contract accepts `params` for the method `name` (absent params mean {} on every transport). */
export function accepts(name: string, params: unknown): boolean {
  return isMethodName(name) && methods[name].params.safeParse(params ?? {}).success
}

function tryClone(v: Json): Json {
  try {
    return structuredClone(v)
  } catch {
    return v
  }
}

function isObject(v: Json): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export interface ApiParams {
  name: MethodName
  params: Json
  /** Whether the contract's schema accepts `params`. */
  valid: boolean
}

/** Params for `name`: a valid call mutated; made invalid again where a valid call would not be harmless. */
export function apiParams(r: Prng, name: MethodName, ctx: ApiContext): ApiParams {
  // As a transport delivers it: JSON keeps a "__proto__" key as an own property; structured clone may refuse deep nesting.
  let params = JSON.parse(JSON.stringify(r.chance(0.04) ? base(r, name, ctx) : mutate(r, base(r, name, ctx)))) as Json
  const accepted = (p: Json): boolean => accepts(name, p) || accepts(name, tryClone(p))
  let valid = accepted(params)
  if (valid && !SAFE_WHEN_VALID.has(name)) {
    params = { ...(isObject(params) ? params : {}), [`fuzz_${r.int(1000)}`]: r.int(10) }
    valid = accepted(params)
    if (valid) throw new Error(`${name}: an unknown key did not make the params invalid; the schema is not strict`)
  }
  return { name, params, valid }
}

export function randomMethod(r: Prng): MethodName {
  return r.pick(METHOD_NAMES)
}

/** Method names that do not exist, or exist only on Object.prototype. */
export const BAD_METHOD_NAMES: readonly string[] = [
  '', 'GetHealth', 'gethealth', 'getHealth ', ' getHealth', 'getHealth/', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf',
  'isPrototypeOf', '__defineGetter__', 'x'.repeat(4000), 'pay\u0000', 'events', '../health', 'getHealth?x=1', '😀',
]
