// The channels' face: the engine and its handlers, migrations, and the pure parts others
// test against (signature backends, transaction templates, lifecycle rules, decisions).
export * from './constants.js'
export * from './state-machine.js'
export * from './transactions.js'
export { ChannelEngine } from './channel-engine.js'
export { CHANNEL_BACKUP_FILE } from './channel-backup-keeper.js'
export { openChannelBackup } from './channel-backup-file.js'
export { channelHandlers } from './handlers.js'
export { channelMigrations } from './migrations.js'
