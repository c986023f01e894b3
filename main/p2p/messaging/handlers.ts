import type { ApiHandlers } from '../../../shared/contract/index.js'
import type { MessagingService } from './service.js'

/** The contract's message methods over the MessagingService. */
export function messagingHandlers(service: MessagingService): Pick<ApiHandlers, 'sendMessage' | 'listMessages' | 'searchMessages'> {
  return {
    sendMessage: async ({ peerId, text }) => service.sendMessage(peerId, text),
    listMessages: async (params) => service.listMessages(params),
    searchMessages: async ({ query, limit }) => service.searchMessages(query, limit),
  }
}
