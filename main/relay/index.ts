export { RelayServer, RelayServerError, MULTIADDR_FILE, pickAddress, type RelayServerInit, type RelayServerComponents } from './relay-server.js'
