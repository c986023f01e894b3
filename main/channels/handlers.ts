import { readFile, stat } from 'node:fs/promises'
import { isAbsolute } from 'node:path'
import { ContractError } from '../../shared/contract/index.js'
import type { EngineHandlers } from '../idempotency/index.js'
import { MAX_CHANNEL_BACKUP_BYTES } from './channel-backup-file.js'
import type { ChannelEngine } from './channel-engine.js'

type ChannelMethod = 'openChannel' | 'acceptChannel' | 'rejectChannel' | 'pay' | 'closeChannel' | 'listChannels' | 'archiveChannel' | 'getChannel' | 'restoreChannelBackup'

export function channelHandlers(engine: ChannelEngine): Pick<EngineHandlers, ChannelMethod> {
  return {
    openChannel: (p, scope) => engine.open(p, scope),
    acceptChannel: async ({ channelId }, scope) => {
      await engine.acceptProposal(channelId, scope)
      return engine.get(channelId)
    },
    rejectChannel: async ({ channelId }, scope) => {
      await engine.rejectProposal(channelId, scope)
      return engine.get(channelId)
    },
    pay: (p, scope) => engine.pay(p, scope),
    closeChannel: ({ channelId, timeoutMs }, scope) => engine.close(channelId, scope, timeoutMs),
    listChannels: async (p) => engine.list(p),
    archiveChannel: ({ channelId }) => engine.archive(channelId),
    getChannel: async ({ channelId }) => engine.get(channelId),
    restoreChannelBackup: async ({ data, file }) => engine.restoreBackup(data !== undefined ? Buffer.from(data, 'base64') : await readBackupFile(file ?? '')),
  }
}

/** A channel backup named by path on this machine: absolute, a file, and no larger than one can be. */
async function readBackupFile(file: string): Promise<Uint8Array> {
  if (!isAbsolute(file)) throw new ContractError('invalid_params', 'give the channel backup file as an absolute path', { field: 'file' })
  const info = await stat(file).catch(() => null)
  if (!info?.isFile()) throw new ContractError('invalid_params', `no file at ${file}`, { field: 'file' })
  if (info.size > MAX_CHANNEL_BACKUP_BYTES) throw new ContractError('invalid_params', 'this file is too large to be a channel backup', { field: 'file' })
  return readFile(file)
}
