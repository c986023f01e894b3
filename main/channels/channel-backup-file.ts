// The channel backup file: what gets a channel's coins out without the peer and without
// the database (the payer's payee-signed refund, the payee's latest payer-signed
// settlement, the funding outpoint, the terms and the key indexes), sealed with a key that
// only the wallet's recovery words give. AES-256-GCM: a file from another wallet, or one
// with a single bit changed, fails to open as a whole; nothing of it is ever half-read.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { z } from 'zod'
import { CHANNEL_COLUMNS, type ChannelRecord, type ChannelRow, ChannelRowError, decodeChannelRow, encodeChannelRow } from './records.js'

const MAGIC = Buffer.from('BSVCHAN', 'ascii')
const VERSION = 1
const HEADER = MAGIC.length + 1
const NONCE = 12
const TAG = 16
/** A file larger than this is not ours (10,000 channels take about 20 MB). */
export const MAX_CHANNEL_BACKUP_BYTES = 64 * 1024 * 1024

/** A wallet address a channel pays to, with its derivation, so a restored wallet watches it. */
interface BackupAddress {
  address: string
  chain: 0 | 1
  idx: number
}

export interface ChannelBackupContent {
  network: string
  /** The wallet's first receive address: whose file this is. */
  wallet: string
  writtenAt: number
  /** Key indexes below this were given to a channel once; a restored wallet never gives them again. */
  nextKeyIndex: number
  channels: { record: ChannelRecord; addresses: BackupAddress[] }[]
}

export type ChannelBackupErrorCode = 'not-a-backup' | 'unsupported-version' | 'wrong-key-or-damaged' | 'invalid'

export class ChannelBackupError extends Error {
  override readonly name = 'ChannelBackupError'
  constructor(
    readonly code: ChannelBackupErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

const int = z.number().int().safe()
const RowSchema = z
  .object(Object.fromEntries(CHANNEL_COLUMNS.map((k) => [k, z.union([int, z.string().max(1_000_000)]).nullable()])) as unknown as Record<keyof ChannelRow, z.ZodType<unknown>>)
  .strict()
  .superRefine((row, ctx) => {
    for (const k of ['id', 'peer_id', 'role', 'state', 'payer_pub'] as const) if (typeof row[k] !== 'string') ctx.addIssue({ code: 'custom', path: [k], message: 'must be text' })
    for (const k of ['capacity_sats', 'paid_sats', 'seq', 'expiry', 'fee_rate', 'settlement_fee_sats', 'refund_fee_sats', 'key_index', 'created_at', 'updated_at'] as const)
      if (typeof row[k] !== 'number') ctx.addIssue({ code: 'custom', path: [k], message: 'must be an integer' })
  })
const AddressSchema = z.object({ address: z.string().min(1).max(128), chain: z.union([z.literal(0), z.literal(1)]), idx: int.min(0).max(0x7fffffff) }).strict()
const ContentSchema = z
  .object({
    v: z.literal(VERSION),
    network: z.string().min(1).max(32),
    wallet: z.string().min(1).max(128),
    writtenAt: int.min(0),
    nextKeyIndex: int.min(0),
    channels: z.array(z.object({ row: RowSchema, addresses: z.array(AddressSchema).max(4) }).strict()).max(100_000),
  })
  .strict()

/** Seals `content` into the file's bytes (a fresh nonce every time). */
export function sealChannelBackup(content: ChannelBackupContent, key: Uint8Array): Uint8Array {
  const plain = Buffer.from(
    JSON.stringify({ v: VERSION, network: content.network, wallet: content.wallet, writtenAt: content.writtenAt, nextKeyIndex: content.nextKeyIndex, channels: content.channels.map((c) => ({ row: encodeChannelRow(c.record), addresses: c.addresses })) }),
    'utf8',
  )
  const header = Buffer.concat([MAGIC, Buffer.from([VERSION])])
  const nonce = randomBytes(NONCE)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  cipher.setAAD(header)
  const body = Buffer.concat([cipher.update(plain), cipher.final()])
  return Buffer.concat([header, nonce, body, cipher.getAuthTag()])
}

/** Opens a channel backup file, or refuses it whole with a ChannelBackupError saying why. */
export function openChannelBackup(bytes: Uint8Array, key: Uint8Array): ChannelBackupContent {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buf.length < HEADER + NONCE + TAG || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new ChannelBackupError('not-a-backup', 'this is not a channel backup file')
  if (buf.length > MAX_CHANNEL_BACKUP_BYTES) throw new ChannelBackupError('not-a-backup', 'this file is too large to be a channel backup')
  if (buf[MAGIC.length] !== VERSION) throw new ChannelBackupError('unsupported-version', `channel backup version ${buf[MAGIC.length]} is not known to this version of the app`)
  const header = buf.subarray(0, HEADER)
  const nonce = buf.subarray(HEADER, HEADER + NONCE)
  const decipher = createDecipheriv('aes-256-gcm', key, nonce)
  decipher.setAAD(header)
  decipher.setAuthTag(buf.subarray(buf.length - TAG))
  let plain: Buffer
  try {
    plain = Buffer.concat([decipher.update(buf.subarray(HEADER + NONCE, buf.length - TAG)), decipher.final()])
  } catch (err) {
    throw new ChannelBackupError('wrong-key-or-damaged', 'this channel backup does not open with this wallet’s recovery words (it is another wallet’s, or it is damaged)', { cause: err })
  }
  let json: unknown
  try {
    json = JSON.parse(plain.toString('utf8'))
  } catch (err) {
    throw new ChannelBackupError('invalid', 'the channel backup holds no valid content', { cause: err })
  }
  const parsed = ContentSchema.safeParse(json)
  if (!parsed.success) throw new ChannelBackupError('invalid', `the channel backup holds no valid content: ${parsed.error.issues[0]?.message ?? 'unknown'}`)
  const channels = parsed.data.channels.map(({ row, addresses }) => {
    try {
      return { record: decodeChannelRow(row as unknown as ChannelRow), addresses }
    } catch (err) {
      if (err instanceof ChannelRowError) throw new ChannelBackupError('invalid', `the channel backup holds a channel that does not fit its state: ${err.message}`, { cause: err })
      throw err
    }
  })
  return { network: parsed.data.network, wallet: parsed.data.wallet, writtenAt: parsed.data.writtenAt, nextKeyIndex: parsed.data.nextKeyIndex, channels }
}
