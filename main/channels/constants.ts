// Channel transaction constants. Sizes are upper bounds: DER signatures with low S are at
// most 71 bytes (r may need 33 bytes, s never more than 32), 72 with the sighash byte.

/** SIGHASH_ALL | SIGHASH_FORKID: the only scope channel signatures may carry. */
export const SIGHASH_ALL_FORKID = 0x41
export const FINAL_SEQUENCE = 0xffffffff
/** Any sequence below final makes nLockTime count; the refund uses this one. */
export const REFUND_SEQUENCE = 0xfffffffe
/**
 * Version 1 on purpose: since Chronicle, @bsv/sdk's interpreter (and BSV nodes) relax the
 * malleability rules (low S, NULLDUMMY, push-only, clean stack) for versions above 1. The
 * payee signs the refund against the funding txid before the funding tx is broadcast, so
 * nobody must be able to change that txid.
 */
export const CHANNEL_TX_VERSION = 1
/**
 * Smallest output the channel templates create. BSV nodes since 1.0.11 relay outputs of
 * 1 sat and more; a caller facing a stricter policy passes its own limit.
 */
export const DEFAULT_DUST_LIMIT = 1
export const MAX_SATOSHIS = 21_000_000 * 100_000_000

const SIGNATURE_PUSH_MAX = 1 + 72
const COMPRESSED_KEY_PUSH = 1 + 33
/** version + nLockTime */
export const TX_FIXED_SIZE = 8
const P2PKH_SCRIPT_SIZE = 25
/** OP_2 <33> <33> OP_2 OP_CHECKMULTISIG */
const MULTISIG_SCRIPT_SIZE = 1 + 34 + 34 + 1 + 1
/** outpoint 36 + script length 1 + signature push + key push + sequence 4 */
export const P2PKH_INPUT_SIZE = 36 + 1 + SIGNATURE_PUSH_MAX + COMPRESSED_KEY_PUSH + 4
/** outpoint 36 + script length 1 + OP_0 + two signature pushes + sequence 4 */
export const MULTISIG_INPUT_SIZE = 36 + 1 + 1 + 2 * SIGNATURE_PUSH_MAX + 4
export const P2PKH_OUTPUT_SIZE = 8 + 1 + P2PKH_SCRIPT_SIZE
export const MULTISIG_OUTPUT_SIZE = 8 + 1 + MULTISIG_SCRIPT_SIZE
