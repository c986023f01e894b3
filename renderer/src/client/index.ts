export { connect, type Connection } from './client.js'
export { ipcTransport } from './ipc-transport.js'
export { type ConnectionState } from './transport.js'
export { reconnectDelay, webTransport } from './web-transport.js'
