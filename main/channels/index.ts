// The channel groundwork's face: signature backends, transaction templates and the pure
// lifecycle rules the channel engine (protocol + service, still to come) builds on.
export * from './constants.js'
export { CURVE_ORDER, encodeDer, isCanonicalSignature, isLowS, isPublicKeyEncoding, isStrictDer, normaliseLowS, parseDer } from './der.js'
export { ChannelTxError, type ChannelTxErrorCode } from './errors.js'
export {
  type BackendName, InvalidPrivateKeyError, type OpenSslBackendInit, type SignatureBackend, createBsvSdkBackend, createNobleBackend,
  createOpenSslBackend, opensslAvailable, publicKeyOf, selectBackend, sha256,
} from './signer.js'
export * from './state-machine.js'
export * from './transactions.js'
export { ChannelEngine, type ChannelEngineComponents, type ChannelEngineInit, type ChannelWallet } from './channel-engine.js'
export { channelHandlers } from './handlers.js'
export { channelMigrations } from './migrations.js'
export { CHANNEL_PROTOCOL } from './protocol.js'
