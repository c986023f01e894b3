import type { Network } from '../config/index.js'
import { ArcClient } from './arc-client.js'
import type { ChainClients } from './chain.js'
import type { HttpPolicy } from './http.js'
import { WhatsOnChainClient } from './woc-client.js'

/** Public defaults; tests always pass a devnet URL on 127.0.0.1. */
const CHAIN_DEFAULTS: Readonly<Record<Network, { woc: string; arc: string }>> = {
  mainnet: { woc: 'https://api.whatsonchain.com/v1/bsv/main', arc: 'https://arc.taal.com' },
  testnet: { woc: 'https://api.whatsonchain.com/v1/bsv/test', arc: 'https://arc-test.taal.com' },
  devnet: { woc: 'http://127.0.0.1:18332/v1/bsv/devnet', arc: 'http://127.0.0.1:18332' },
}

const WOC_NETWORK: Readonly<Record<Network, string>> = { mainnet: 'main', testnet: 'test', devnet: 'devnet' }

export interface ChainClientsInit {
  network: Network
  /**
   * A server that speaks both APIs at one root (the devnet, or a proxy): WhatsOnChain
   * under `<root>/v1/bsv/<main|test|devnet>` and ARC at `<root>/v1/tx`.
   */
  chainUrl?: string
  arcApiKey?: string
  wocApiKey?: string
  http?: Partial<HttpPolicy>
}

export function chainEndpoints(network: Network, chainUrl?: string): { woc: string; arc: string } {
  if (!chainUrl) return CHAIN_DEFAULTS[network]
  const root = chainUrl.replace(/\/+$/, '')
  return { woc: `${root}/v1/bsv/${WOC_NETWORK[network]}`, arc: root }
}

/** Look-ups from WhatsOnChain, broadcasts through ARC (both served by the devnet). */
export function createChainClients(init: ChainClientsInit): ChainClients {
  const endpoints = chainEndpoints(init.network, init.chainUrl)
  return {
    lookup: new WhatsOnChainClient({ baseUrl: endpoints.woc, apiKey: init.wocApiKey, http: init.http }),
    broadcaster: new ArcClient({ baseUrl: endpoints.arc, apiKey: init.arcApiKey, http: init.http }),
  }
}
