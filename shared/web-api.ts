/**
 * The daemon's HTTP API as both ends speak it: the server (main/daemon/api-server.ts) and the
 * browser transport (renderer/src/client/web-transport.ts). Every contract method is
 * `POST <API_PREFIX><method>` with a bearer token; events come over one WebSocket at
 * EVENTS_PATH, as JSON `EventFrame`s.
 */
export const API_PREFIX = '/api/'
export const EVENTS_PATH = '/api/events'

/** The events socket's subprotocol: the server accepts no socket that does not offer it. */
export const EVENTS_SUBPROTOCOL = 'bsv-p2p.v1'

/** A browser cannot set headers on a WebSocket, so the token rides as a second subprotocol. */
const TOKEN_SUBPROTOCOL_PREFIX = 'token.'

/** The subprotocols a client offers to open the events socket with `token`. */
export function eventsSubprotocols(token: string): string[] {
  return [EVENTS_SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`]
}

/** The token among the subprotocols a client offered, or undefined when it offered none. */
export function tokenFromSubprotocols(offered: readonly string[]): string | undefined {
  return offered.find((p) => p.startsWith(TOKEN_SUBPROTOCOL_PREFIX))?.slice(TOKEN_SUBPROTOCOL_PREFIX.length)
}
