import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { parsePeerId } from './peer-id-text.js'

describe('parsePeerId', () => {
  it('gives the peer the text names, the same object for the same text', async () => {
    const real = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const text = real.toString()
    const first = parsePeerId(text)
    expect(first.equals(real)).toBe(true)
    expect(first.toString()).toBe(text)
    expect(parsePeerId(text)).toBe(first)
    // The CID form names the same peer and parses to it, with the usual text.
    const viaCid = parsePeerId(real.toCID().toString())
    expect(viaCid.equals(real)).toBe(true)
    expect(viaCid.toString()).toBe(text)
  })

  it('refuses text that is no peer id, every time (a failure is not remembered as a peer)', () => {
    for (let i = 0; i < 2; i++) {
      expect(() => parsePeerId('not-a-peer-id')).toThrow()
      expect(() => parsePeerId('')).toThrow()
      expect(() => parsePeerId('12D3KooWSp6Rg5Vdh3rxs7YqbFKDv4z6cohhTdDqaWyT4EcAYG7')).toThrow()
    }
  })

  it('stays correct past its bound (4,096 ids): the evicted ones parse again to themselves', async () => {
    const ids = await Promise.all(Array.from({ length: 4_200 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    for (let round = 0; round < 2; round++) {
      for (const id of ids) expect(parsePeerId(id.toString()).equals(id)).toBe(true)
    }
  })
})
