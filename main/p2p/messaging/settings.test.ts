import { describe, expect, it } from 'vitest'
import { EngineConfigSchema } from '../../config/index.js'
import { DEFAULT_BURST, DEFAULT_MAX_FRAME_BYTES, DEFAULT_RATE_PER_SEC, DEFAULT_WINDOW } from './constants.js'
import { MessagingConfigError, messagingInitFromConfig, resolveMessagingInit } from './settings.js'

describe('messaging settings', () => {
  it('the engine config defaults are the service defaults', () => {
    const init = resolveMessagingInit(messagingInitFromConfig(EngineConfigSchema.parse({})))
    expect(init).toEqual(resolveMessagingInit())
    expect(init).toMatchObject({ maxFrameBytes: DEFAULT_MAX_FRAME_BYTES, window: DEFAULT_WINDOW, rateLimit: { ratePerSec: DEFAULT_RATE_PER_SEC, burst: DEFAULT_BURST } })
  })

  it('config values reach the service', () => {
    const config = EngineConfigSchema.parse({ messaging: { ratePerSec: 5, burst: 7, deadlineMs: 1000, window: 8, maxFrameBytes: 20_000 } })
    expect(resolveMessagingInit(messagingInitFromConfig(config))).toMatchObject({ rateLimit: { ratePerSec: 5, burst: 7 }, deadlineMs: 1000, window: 8, maxFrameBytes: 20_000 })
  })

  it('refuses nonsense with a named error, in config and in init', () => {
    expect(EngineConfigSchema.safeParse({ messaging: { ratePerSec: 0 } }).success).toBe(false)
    expect(EngineConfigSchema.safeParse({ messaging: { rate: 1 } }).success).toBe(false)
    expect(() => resolveMessagingInit({ deadlineMs: 1.5 })).toThrow(MessagingConfigError)
    expect(() => resolveMessagingInit({ maxFrameBytes: 1000 })).toThrow(MessagingConfigError)
  })
})
