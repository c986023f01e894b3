// Preloaded with `node --import` for tools that phone home (Electronegativity fetches
// translations and Electron's release list): every connection not to loopback is refused
// at once, so the tool runs offline and fast and nothing leaves the machine.
import dns from 'node:dns'
import net from 'node:net'

const LOOPBACK = /^(127\.|::1$|localhost$)/
const refuse = (host) => Object.assign(new Error(`offline-guard: no network to ${host}`), { code: 'ECONNREFUSED' })

const lookup = dns.lookup
dns.lookup = function guardedLookup(host, options, callback) {
  const cb = typeof options === 'function' ? options : callback
  if (!LOOPBACK.test(String(host))) return process.nextTick(() => cb(refuse(host)))
  return lookup.call(this, host, options, callback)
}

const connect = net.Socket.prototype.connect
net.Socket.prototype.connect = function guardedConnect(...args) {
  const opts = typeof args[0] === 'object' && args[0] !== null && !Array.isArray(args[0]) ? args[0] : { host: args[1] }
  const host = opts.host ?? 'localhost'
  if (opts.path === undefined && !LOOPBACK.test(String(host))) {
    process.nextTick(() => this.destroy(refuse(host)))
    return this
  }
  return connect.apply(this, args)
}
