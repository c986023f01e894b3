import { z } from 'zod'
import { method } from './define.js'
import { ServiceSchema } from './peers.js'

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

/** The most services a node offers in its profile. */
export const MAX_PROFILE_SERVICES = 8
/**
 * The most bytes of a profile as JSON: it rides in every announcement, which peers refuse
 * above 8 KiB, and the relay addresses need the rest.
 */
export const MAX_PROFILE_BYTES = 4096

const ProfileNameSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(64)
  .regex(/^[^\p{Cc}\p{Cf}]+$/u, 'must not contain control characters')

/** How this node presents itself to peers: announced, signed, with every announcement. */
export const ProfileSchema = z
  .object({
    /** The name peers see in their directory; null: peers show the peer id only. */
    name: ProfileNameSchema.nullable(),
    /** What this node offers, priced in satoshis. */
    services: z.array(ServiceSchema.extend({ name: ProfileNameSchema }).strict()).max(MAX_PROFILE_SERVICES),
  })
  .strict()
  .superRefine((p, ctx) => {
    const names = new Set<string>()
    for (const [i, s] of p.services.entries()) {
      if (names.has(s.name)) ctx.addIssue({ code: 'custom', path: ['services', i, 'name'], message: 'two services have this name' })
      names.add(s.name)
    }
    const bytes = new TextEncoder().encode(JSON.stringify(p)).length
    if (bytes > MAX_PROFILE_BYTES) ctx.addIssue({ code: 'custom', path: ['services'], message: `the profile is ${bytes} bytes; at most ${MAX_PROFILE_BYTES} fit in an announcement` })
  })
export type Profile = z.infer<typeof ProfileSchema>

export const settingsMethods = {
  getSettings: method('The configuration the engine runs with (read-only).', z.object({}).strict().default({}), SettingsSchema),
  getProfile: method('The name and services this node announces to peers.', z.object({}).strict().default({}), ProfileSchema),
  updateProfile: method('Replace the name and services this node announces; saved, then announced at once.', ProfileSchema, ProfileSchema),
}

export const settingsEvents = {
  /** The profile changed (from any window or browser tab). */
  profile: ProfileSchema,
}

