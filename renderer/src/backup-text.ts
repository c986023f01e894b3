import { type ChannelRestore, ContractError, type ExportedBackup } from '../../shared/contract/index.js'
import { bytes, humanError, relativeTime } from './human.js'

// Backups in words: the export to another folder and the restore of a channel backup
// file, checked before anything is sent and explained after. Pure, so it is tested alone.

export const EXPORT_DIR_EXAMPLE = '/media/usb/wallet-backup'

/** What the node names its channel backup file. */
export const CHANNEL_FILE_NAME = 'channels.bsvchan'

/** The largest channel backup file the app reads and sends (its bytes travel as base64 in one call). */
export const MAX_RESTORE_FILE_BYTES = 16 * 1024 * 1024

export const KEEP_SAFE = `Keep this folder safe: with your recovery words, ${CHANNEL_FILE_NAME} gets your channel money back even if this computer is lost.`

/** Absolute on the node's machine, whichever system it runs: /…, C:\… or C:/…, \\server\…. */
export function isAbsolutePath(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('\\\\')
}

/** Why a folder typed for the export cannot be sent, or null when it can (the node checks that it exists). */
export function exportDirProblem(input: string): string | null {
  const dir = input.trim()
  if (!dir) return `Enter the folder to export to, e.g. ${EXPORT_DIR_EXAMPLE}.`
  if (dir.length > 4096) return 'That folder path is too long.'
  if (!isAbsolutePath(dir)) return `Give the folder’s full path, from the top (it starts with /), e.g. ${EXPORT_DIR_EXAMPLE}.`
  return null
}

/** An export the node refused, in words: a folder that is not there is named, anything else as usual. */
export function exportErrorText(err: unknown, dir: string): string {
  if (err instanceof ContractError && err.code === 'invalid_params' && err.details?.field === 'dir') {
    const folder = dir.trim()
    return isAbsolutePath(folder)
      ? `There is no folder at ${folder} on the computer the node runs on. Make the folder (or plug the disk in) first, then export again.`
      : `Give the folder’s full path, from the top (it starts with /), e.g. ${EXPORT_DIR_EXAMPLE}.`
  }
  return humanError(err)
}

const countOf = (n: number, thing: string): string => `${n === 0 ? 'no' : n.toLocaleString('en-US')} ${thing}${n === 1 ? '' : 's'}`

/** Words with the parts shown as code (paths, flags) marked, so a view can set them apart. */
export type Words = (string | { code: string })[]

/** Words as plain text. */
export const plain = (words: Words): string => words.map((w) => (typeof w === 'string' ? w : w.code)).join('')

/** What an export wrote where, one sentence per file, then why it matters. */
export function exportSummary(r: ExportedBackup): { database: Words; channels: Words; keepSafe: string } {
  return {
    database: [`The database (${bytes(r.database.bytes)}, checked) is in `, { code: r.database.file }, '. It restores with ', { code: '--restore-backup' }, ' while the node is stopped.'],
    channels: [`The channel backup, holding ${countOf(r.channels, 'channel')}, is in `, { code: r.channelsFile }, '. It restores here, under “Restore channels from a file”, once the wallet is back from its recovery words.'],
    keepSafe: KEEP_SAFE,
  }
}

/** Why a chosen file is not sent, or null when it may be. */
export function restoreFileProblem(file: { name: string; size: number }): string | null {
  if (file.size === 0) return `${file.name} is empty: it is not a channel backup.`
  if (file.size > MAX_RESTORE_FILE_BYTES)
    return `${file.name} is ${bytes(file.size)}, more than the ${bytes(MAX_RESTORE_FILE_BYTES)} the app sends: choose the ${CHANNEL_FILE_NAME} file from your backup folder, or restore a larger one on the node’s computer with --restore-channels.`
  return null
}

/** What restoring does, said before it is done. */
export const RESTORE_CONFIRM =
  'Channels this wallet does not have will be closed out on chain: a channel where you were paid settles now; a channel you paid into returns its unpaid coins at its refund block, unless the other side settles first. No more payments go through them. Channels already here are left as they are.'

const REASON_TEXT: Record<string, string> = {
  'not-a-backup': `This is not a channel backup file. Choose the ${CHANNEL_FILE_NAME} file from your backup folder.`,
  'unsupported-version': 'This channel backup was made by a newer version of the app. Update the app, then restore it again.',
  'wrong-key-or-damaged': 'This file does not open with this wallet’s recovery words: it is another wallet’s, or it is damaged.',
  invalid: 'This file opens with this wallet’s recovery words, but what it holds does not add up, so nothing was restored. It may be damaged: try another copy.',
  'another-wallet': 'This channel backup belongs to another wallet (or another network), so nothing was restored. Restore that wallet from its recovery words first.',
}

/** The chosen file could not be read in the app (moved, removed, no permission): nothing was sent. */
export class FileUnreadableError extends Error {
  override readonly name = 'FileUnreadableError'
  constructor(readonly fileName: string, options?: { cause?: unknown }) {
    super(`${fileName} could not be read`, options)
  }
}

/** A restore the node refused (or a file the app could not read), in words by its reason. */
export function restoreErrorText(err: unknown): string {
  if (err instanceof FileUnreadableError) return `${err.fileName} could not be read: it may have been moved or removed. Choose it again.`
  if (err instanceof ContractError) {
    const reason = err.details?.reason
    if (err.code === 'invalid_params' && typeof reason === 'string' && REASON_TEXT[reason]) return REASON_TEXT[reason]
    if (err.code === 'payload_too_large') return `The node does not take a file this large over this connection. A channel backup is far smaller: choose the ${CHANNEL_FILE_NAME} file from your backup folder.`
  }
  return humanError(err)
}

const are = (n: number): string => (n === 1 ? 'is' : 'are')

/** What a restore did, in words. */
export function restoreSummary(r: ChannelRestore, now: number = Date.now()): string {
  const written = `The file was written ${relativeTime(new Date(r.writtenAt).toISOString(), now)}.`
  if (r.restored === 0 && r.updated === 0) {
    return r.unchanged === 0 ? `Nothing to restore: this file holds no channels. ${written}` : `Nothing to restore: every channel in the file is already here. ${written}`
  }
  const parts: string[] = []
  if (r.restored > 0) {
    parts.push(
      `${countOf(r.restored, 'channel')} restored; ${r.restored === 1 ? 'it is' : 'they are'} closing: a channel where you were paid settles now, a channel you paid into returns its unpaid coins at its refund block unless the other side settles first.`,
    )
  }
  if (r.updated > 0) parts.push(`${countOf(r.updated, 'channel')} already here took a newer payment from the file and ${are(r.updated)} settling now.`)
  if (r.unchanged > 0) parts.push(r.unchanged === 1 ? '1 other channel was already here and is left as it is.' : `${countOf(r.unchanged, 'other channel')} were already here and are left as they are.`)
  parts.push(written)
  return parts.map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join(' ')
}

/** Bytes as base64, in slices (a file of megabytes would overflow one argument list). */
export function bytesToBase64(data: Uint8Array): string {
  const SLICE = 0x8000
  let binary = ''
  for (let i = 0; i < data.length; i += SLICE) binary += String.fromCharCode(...data.subarray(i, i + SLICE))
  return btoa(binary)
}
