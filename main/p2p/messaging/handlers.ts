import type { EngineHandlers } from '../../idempotency/index.js'
import type { MessagingService } from './service.js'

/** The contract's message methods over the MessagingService. */
export function messagingHandlers(service: MessagingService): Pick<EngineHandlers, 'sendMessage' | 'listMessages' | 'searchMessages'> {
  return {
    sendMessage: async ({ peerId, text }, scope) => service.sendMessage(peerId, text, scope),
    listMessages: async (params) => service.listMessages(params),
    searchMessages: async ({ query, limit }) => service.searchMessages(query, limit),
  }
}
