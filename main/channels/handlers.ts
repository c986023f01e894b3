import type { EngineHandlers } from '../idempotency/index.js'
import type { ChannelEngine } from './channel-engine.js'

type ChannelMethod = 'openChannel' | 'acceptChannel' | 'rejectChannel' | 'pay' | 'closeChannel' | 'listChannels' | 'getChannel'

export function channelHandlers(engine: ChannelEngine): Pick<EngineHandlers, ChannelMethod> {
  return {
    openChannel: (p, scope) => engine.open(p, scope),
    acceptChannel: async ({ channelId }, scope) => {
      await engine.acceptProposal(channelId, scope)
      return engine.get(channelId)
    },
    rejectChannel: async ({ channelId }, scope) => {
      await engine.rejectProposal(channelId, scope)
      return engine.get(channelId)
    },
    pay: (p, scope) => engine.pay(p, scope),
    closeChannel: ({ channelId, timeoutMs }, scope) => engine.close(channelId, scope, timeoutMs),
    listChannels: async () => engine.list(),
    getChannel: async ({ channelId }) => engine.get(channelId),
  }
}
