import { z } from 'zod'
import { method } from './define.js'
import { idempotent } from './idempotency.js'

/** Satoshis: integers only, never more than all the coins there are. */
export const SatoshisSchema = z.number().int().nonnegative().max(2_100_000_000_000_000)

export const WALLET_TX_LIST_MAX = 500

/** A Base58Check P2PKH address as text; its checksum and network are checked where it is used. */
export const AddressTextSchema = z
  .string()
  .min(26)
  .max(40)
  .regex(/^[1-9A-HJ-NP-Za-km-z]+$/, 'must be a Base58 address')

const WalletSchema = z.object({
  network: z.string(),
  /** The current receive address. */
  address: z.string(),
  balance: z.object({
    /** Mined outputs. */
    confirmed: SatoshisSchema,
    /** Outputs still in the mempool (incoming, and change of our own sends). */
    unconfirmed: SatoshisSchema,
  }),
  /** False while the wallet has no keys open (locked or not yet created). */
  ready: z.boolean(),
})
export type WalletInfo = z.infer<typeof WalletSchema>

const WalletTransactionSchema = z.object({
  /** Local, strictly increasing position; the list cursor. */
  seq: z.number().int().positive(),
  txid: z.string(),
  direction: z.enum(['in', 'out']),
  /** What the wallet gained (in) or what it paid to the recipient (out), in satoshis. */
  sats: SatoshisSchema,
  /** The miner fee of our own sends; 0 for incoming. */
  fee: SatoshisSchema,
  /** The recipient for `out`; the wallet's own receiving address for `in`. */
  address: z.string().nullable(),
  /** Null while unconfirmed. */
  height: z.number().int().nonnegative().nullable(),
  createdAt: z.string(),
  /** The payment channel this transaction funded, settled or refunded, when it is one of a channel's (archived ones too). */
  channel: z.object({ id: z.string(), peerId: z.string(), kind: z.enum(['funding', 'settlement', 'refund']) }).optional(),
})
export type WalletTransaction = z.infer<typeof WalletTransactionSchema>

const SendPreviewSchema = z.object({
  /** What the recipient gets. */
  sats: SatoshisSchema,
  /** The miner fee of that send, at the wallet's fee rate. */
  feeSats: SatoshisSchema,
  /** sats + feeSats: what leaves the wallet. */
  totalSats: SatoshisSchema,
  /** Everything the wallet could spend right now (coins not held by a send in flight). */
  spendableSats: SatoshisSchema,
})
export type SendPreview = z.infer<typeof SendPreviewSchema>

const MnemonicTextSchema = z
  .string()
  .min(20)
  .max(400)
  .transform((s) => s.trim().toLowerCase().split(/\s+/).join(' '))

export const walletMethods = {
  getWallet: method('The wallet: network, receive address and balance in satoshis.', z.object({}).strict().default({}), WalletSchema),
  newAddress: method('Derive a fresh receive address and make it the current one.', z.object({ ...idempotent }).strict().default({}), z.object({ address: z.string() })),
  previewSend: method(
    'A send as it would be made now, made nowhere: its fee and total; with `max: true`, everything spendable less the fee. Reserves and writes nothing; refuses as `send` would.',
    // One strict object (not a union): an unknown key is refused by name, as everywhere else.
    z
      .object({ address: AddressTextSchema.optional(), sats: SatoshisSchema.min(1).optional(), max: z.literal(true).optional() })
      .strict()
      .refine((p) => (p.sats === undefined) !== (p.max === undefined), { message: 'must give either sats or max: true, not both' }),
    SendPreviewSchema,
  ),
  send: method(
    'Pay an address from the wallet; resolves once the chain accepted the transaction.',
    z.object({ address: AddressTextSchema, sats: SatoshisSchema.min(1), ...idempotent }).strict(),
    z.object({ txid: z.string(), sats: SatoshisSchema, fee: SatoshisSchema }),
  ),
  listTransactions: method(
    'Wallet transactions newest first; `before` is a seq cursor (exclusive).',
    z
      .object({
        limit: z.number().int().min(1).max(WALLET_TX_LIST_MAX).default(100),
        before: z.number().int().positive().optional(),
      })
      .strict()
      .prefault({}),
    z.array(WalletTransactionSchema),
  ),
  backupWallet: method(
    'Reveal the recovery words; only with the wallet passphrase.',
    z.object({ passphrase: z.string().max(1024) }).strict(),
    z.object({ mnemonic: z.string() }),
  ),
  restoreWallet: method(
    'Replace the wallet keys with those of a recovery phrase (BIP39), then resync from the chain.',
    z.object({ mnemonic: MnemonicTextSchema, passphrase: z.string().min(1).max(1024).optional(), ...idempotent }).strict(),
    WalletSchema,
  ),
}

export const walletEvents = {
  wallet: WalletSchema,
}
