export type ChannelTxErrorCode = 'invalid-amount' | 'insufficient-funds' | 'below-dust' | 'invalid-key' | 'key-mismatch' | 'invalid-locktime' | 'invalid-outpoint'

/** A channel transaction that cannot be built from the given figures. */
export class ChannelTxError extends Error {
  override readonly name = 'ChannelTxError'
  constructor(
    readonly code: ChannelTxErrorCode,
    message: string,
  ) {
    super(message)
  }
}
