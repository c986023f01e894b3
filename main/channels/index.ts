// The channels' face: the engine and its handlers, migrations, and the pure parts others
// test against (signature backends, transaction templates, lifecycle rules, decisions).
export * from './constants.js'
export { CURVE_ORDER, encodeDer, isCanonicalSignature, isLowS, isPublicKeyEncoding, isStrictDer, normaliseLowS, parseDer } from './der.js'
export { ChannelTxError, type ChannelTxErrorCode } from './errors.js'
export {
  type BackendName, InvalidPrivateKeyError, type OpenSslBackendInit, type SignatureBackend, createBsvSdkBackend, createNobleBackend,
  createOpenSslBackend, opensslAvailable, publicKeyOf, selectBackend, sha256,
} from './signer.js'
export * from './state-machine.js'
export * from './transactions.js'
export { ChannelEngine, type ChannelEngineComponents, type ChannelEngineInit, type ChannelProblemReport, type ChannelRestoreResult, type ChannelWallet } from './channel-engine.js'
export { CHANNEL_BACKUP_FILE } from './channel-backup-keeper.js'
export { ChannelBackupError, MAX_CHANNEL_BACKUP_BYTES, openChannelBackup, sealChannelBackup } from './channel-backup-file.js'
export { channelHandlers } from './handlers.js'
export { channelMigrations } from './migrations.js'
export { CHANNEL_PROTOCOL, WIRE_ERROR_CODES } from './protocol.js'
export { decideChainAction, lookupsFor, type ChainAction, type ChainFacts, type ChainPolicy } from './chain-decision.js'
