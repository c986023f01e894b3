import type { SignatureBackend } from './signer.js'
import { publicKeyOf } from './signer.js'

/**
 * Channel keys derived from the wallet seed by index (never stored), cached while a channel
 * lives: deriving through BIP32 costs more than a signature.
 */
export class ChannelKeys {
  private readonly keys = new Map<number, Uint8Array>()

  constructor(
    private readonly derive: (index: number) => Uint8Array,
    readonly backend: SignatureBackend,
  ) {}

  private(index: number): Uint8Array {
    let k = this.keys.get(index)
    if (!k) {
      k = this.derive(index)
      this.keys.set(index, k)
    }
    return k
  }

  publicHex(index: number): string {
    return Buffer.from(publicKeyOf(this.private(index))).toString('hex')
  }

  forget(index: number): void {
    this.keys.delete(index)
  }

  clear(): void {
    this.keys.clear()
  }
}
