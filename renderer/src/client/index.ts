export { connect, createClient, createEvents, type Connection, type ContractEvents } from './client.js'
export { ipcTransport } from './ipc-transport.js'
export { type ConnectionState, type Transport } from './transport.js'
export { reconnectDelay, webTransport, type WebTransportInit } from './web-transport.js'
