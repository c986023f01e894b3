import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ChannelRestoreSchema, ContractError, ExportedBackupSchema } from '../../shared/contract/index.js'
import {
  FileUnreadableError,
  KEEP_SAFE,
  MAX_RESTORE_FILE_BYTES,
  bytesToBase64,
  exportDirProblem,
  exportErrorText,
  exportSummary,
  isAbsolutePath,
  plain,
  restoreErrorText,
  restoreFileProblem,
  restoreSummary,
} from './backup-text.js'

describe('the export folder', () => {
  it('is sent only as a full path, and says why not otherwise', () => {
    expect(exportDirProblem('/media/usb/wallet-backup')).toBeNull()
    expect(exportDirProblem('  /tmp/x  ')).toBeNull()
    expect(exportDirProblem('C:\\Backups')).toBeNull()
    expect(exportDirProblem('D:/Backups')).toBeNull()
    expect(exportDirProblem('\\\\nas\\share')).toBeNull()
    expect(exportDirProblem('')).toBe('Enter the folder to export to, e.g. /media/usb/wallet-backup.')
    expect(exportDirProblem('   ')).toBe('Enter the folder to export to, e.g. /media/usb/wallet-backup.')
    expect(exportDirProblem('backups')).toBe('Give the folder’s full path, from the top (it starts with /), e.g. /media/usb/wallet-backup.')
    expect(exportDirProblem('./backups')).toMatch(/^Give the folder’s full path/)
    expect(exportDirProblem('~/backups')).toMatch(/^Give the folder’s full path/)
    expect(exportDirProblem(`/${'a'.repeat(4096)}`)).toBe('That folder path is too long.')
    expect(isAbsolutePath('C:relative')).toBe(false)
  })

  it('names a folder the node does not have; other refusals in the usual words', () => {
    const missing = new ContractError('invalid_params', 'no folder at /nope', { field: 'dir' })
    expect(exportErrorText(missing, ' /nope ')).toBe('There is no folder at /nope on the computer the node runs on. Make the folder (or plug the disk in) first, then export again.')
    expect(exportErrorText(new ContractError('invalid_params', 'give the folder as an absolute path', { field: 'dir' }), 'rel')).toMatch(/^Give the folder’s full path/)
    expect(exportErrorText(new ContractError('unavailable', 'the export to /x failed: EACCES: permission denied'), '/x')).toBe('The export to /x failed: EACCES: permission denied')
    expect(exportErrorText(new Error('boom'), '/x')).toBe('Something went wrong. Please try again.')
  })

  it('says what was written where, and why to keep it', () => {
    const result = ExportedBackupSchema.parse({
      dir: '/mnt/usb',
      database: { file: '/mnt/usb/engine-2026-12-03T23-40-00.sqlite', bytes: 2 * 1024 * 1024, wallet: 'mxyz', ms: 40 },
      channelsFile: '/mnt/usb/channels.bsvchan',
      channels: 3,
    })
    const s = exportSummary(result)
    expect(s.database).toContainEqual({ code: '/mnt/usb/engine-2026-12-03T23-40-00.sqlite' })
    expect(s.channels).toContainEqual({ code: '/mnt/usb/channels.bsvchan' })
    expect(plain(s.database)).toBe('The database (2.0 MiB, checked) is in /mnt/usb/engine-2026-12-03T23-40-00.sqlite. It restores with --restore-backup while the node is stopped.')
    expect(plain(s.channels)).toMatch(/^The channel backup, holding 3 channels, is in \/mnt\/usb\/channels\.bsvchan\. /)
    expect(s.keepSafe).toBe('Keep this folder safe: with your recovery words, channels.bsvchan gets your channel money back even if this computer is lost.')
    expect(s.keepSafe).toBe(KEEP_SAFE)
    expect(plain(exportSummary({ ...result, channels: 1 }).channels)).toContain('holding 1 channel,')
    expect(plain(exportSummary({ ...result, channels: 0 }).channels)).toContain('holding no channels,')
  })
})

describe('restoring a channel backup file', () => {
  it('refuses an empty or oversized file before reading it', () => {
    expect(restoreFileProblem({ name: 'channels.bsvchan', size: 2_000 })).toBeNull()
    expect(restoreFileProblem({ name: 'channels.bsvchan', size: MAX_RESTORE_FILE_BYTES })).toBeNull()
    expect(restoreFileProblem({ name: 'x.bsvchan', size: 0 })).toBe('x.bsvchan is empty: it is not a channel backup.')
    expect(restoreFileProblem({ name: 'movie.bsvchan', size: MAX_RESTORE_FILE_BYTES + 1 })).toMatch(/^movie\.bsvchan is /)
    expect(restoreFileProblem({ name: 'movie.bsvchan', size: 20 * 1024 * 1024 })).toBe(
      'movie.bsvchan is 20.0 MiB, more than the 16.0 MiB the app sends: choose the channels.bsvchan file from your backup folder, or restore a larger one on the node’s computer with --restore-channels.',
    )
  })

  it('explains every refusal by its reason', () => {
    const refused = (reason: string) => restoreErrorText(new ContractError('invalid_params', 'engine words', { reason }))
    expect(refused('not-a-backup')).toBe('This is not a channel backup file. Choose the channels.bsvchan file from your backup folder.')
    expect(refused('wrong-key-or-damaged')).toBe('This file does not open with this wallet’s recovery words: it is another wallet’s, or it is damaged.')
    expect(refused('unsupported-version')).toMatch(/newer version of the app/)
    expect(refused('invalid')).toMatch(/does not add up, so nothing was restored/)
    expect(refused('another-wallet')).toMatch(/^This channel backup belongs to another wallet/)
    // A reason this version does not know: the node's own words.
    expect(refused('something-new')).toBe('Engine words')
    expect(restoreErrorText(new ContractError('payload_too_large', 'body larger than 1048576 bytes'))).toMatch(/^The node does not take a file this large/)
    expect(restoreErrorText(new ContractError('invalid_state', 'the wallet is not open'))).toBe('The wallet is not open')
    expect(restoreErrorText(new FileUnreadableError('x.bsvchan'))).toBe('x.bsvchan could not be read: it may have been moved or removed. Choose it again.')
  })

  it('says what was restored, in words', () => {
    const now = Date.parse('2026-12-03T12:00:00Z')
    const r = (restored: number, updated: number, unchanged: number, agoMs = 0) => restoreSummary(ChannelRestoreSchema.parse({ restored, updated, unchanged, writtenAt: now - agoMs }), now)
    expect(r(0, 0, 0)).toBe('Nothing to restore: this file holds no channels. The file was written just now.')
    expect(r(0, 0, 4, 3 * 3600_000)).toBe('Nothing to restore: every channel in the file is already here. The file was written 3 hours ago.')
    expect(r(3, 0, 0)).toBe(
      '3 channels restored; they are closing: a channel where you were paid settles now, a channel you paid into returns its unpaid coins at its refund block unless the other side settles first. The file was written just now.',
    )
    expect(r(1, 0, 0)).toMatch(/^1 channel restored; it is closing: /)
    expect(r(0, 2, 1)).toBe('2 channels already here took a newer payment from the file and are settling now. 1 other channel was already here and is left as it is. The file was written just now.')
    expect(r(1, 1, 2)).toMatch(/^1 channel restored; it is closing: .* 1 channel already here took a newer payment from the file and is settling now\. 2 other channels were already here and are left as they are\./)
  })

  it('sends the file’s bytes as base64, whatever their length', () => {
    for (const n of [0, 1, 2, 3, 4, 0x8000 - 1, 0x8000, 0x8000 + 1, 200_000]) {
      const data = randomBytes(n)
      expect(bytesToBase64(new Uint8Array(data))).toBe(data.toString('base64'))
    }
  })
})
