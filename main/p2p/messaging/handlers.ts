import type { EngineHandlers } from '../../idempotency/index.js'
import type { MessagingService } from './service.js'

/** The contract's message methods over the MessagingService. */
export function messagingHandlers(service: MessagingService): Pick<EngineHandlers, 'sendMessage' | 'retryMessage' | 'deleteMessage' | 'listMessages' | 'searchMessages' | 'listConversations' | 'getUnread' | 'markConversationRead'> {
  return {
    sendMessage: async ({ peerId, text, timeoutMs }, scope) => service.sendMessage(peerId, text, scope, timeoutMs),
    retryMessage: async ({ seq }) => service.retryMessage(seq),
    deleteMessage: async ({ seq }) => service.deleteMessage(seq),
    listMessages: async (params) => service.listMessages(params),
    searchMessages: async ({ query, limit }) => service.searchMessages(query, limit),
    listConversations: async ({ limit }) => service.listConversations(limit),
    getUnread: async () => service.getUnread(),
    markConversationRead: async ({ peerId, upToSeq }) => service.markConversationRead(peerId, upToSeq),
  }
}
