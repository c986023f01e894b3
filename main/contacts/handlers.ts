import type { EngineHandlers } from '../idempotency/index.js'
import type { ContactBook } from './contact-book.js'

/** Naming is its own idempotence (the same name twice is one state), so the key's scope binds nothing. */
export function contactHandlers(book: ContactBook): Pick<EngineHandlers, 'listContacts' | 'setContact' | 'removeContact'> {
  return {
    listContacts: async () => book.list(),
    setContact: async ({ peerId, name }) => book.set(peerId, name),
    removeContact: async ({ peerId }) => book.remove(peerId),
  }
}
