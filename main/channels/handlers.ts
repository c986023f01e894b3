import type { ApiHandlers } from '../../shared/contract/index.js'
import type { ChannelEngine } from './channel-engine.js'

type ChannelMethod = 'openChannel' | 'acceptChannel' | 'rejectChannel' | 'pay' | 'closeChannel' | 'listChannels' | 'getChannel'

export function channelHandlers(engine: ChannelEngine): Pick<ApiHandlers, ChannelMethod> {
  return {
    openChannel: (p) => engine.open(p),
    acceptChannel: async ({ channelId }) => {
      await engine.acceptProposal(channelId)
      return engine.get(channelId)
    },
    rejectChannel: async ({ channelId }) => {
      await engine.rejectProposal(channelId)
      return engine.get(channelId)
    },
    pay: (p) => engine.pay(p),
    closeChannel: ({ channelId }) => engine.close(channelId),
    listChannels: async () => engine.list(),
    getChannel: async ({ channelId }) => engine.get(channelId),
  }
}
