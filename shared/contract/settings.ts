import { z } from 'zod'
import { method } from './define.js'

/** What the engine runs with, as a person reviewing it needs to see; never a secret. */
export const SettingsSchema = z.object({
  network: z.string(),
  dataDir: z.string(),
  logLevel: z.string(),
  p2p: z.object({
    host: z.string(),
    port: z.number().int().nonnegative(),
    relays: z.array(z.string()),
    announce: z.array(z.string()),
    mdns: z.boolean(),
  }),
  /** Bounds by name (connections, peer directory, message sizes…); new limits appear without a contract change. */
  limits: z.record(z.string(), z.number()),
})
export type Settings = z.infer<typeof SettingsSchema>

export const settingsMethods = {
  getSettings: method('The configuration the engine runs with (read-only).', z.object({}).strict().default({}), SettingsSchema),
}

