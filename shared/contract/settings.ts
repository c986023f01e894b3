import { z } from 'zod'
import { method } from './define.js'
import { idempotent } from './idempotency.js'
import { MultiaddrTextSchema, ServiceSchema } from './peers.js'

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** The most relays a node keeps a reservation on (one reservation slot each). */
export const MAX_RELAYS = 16

const positiveInt = z.number().int().positive()

/**
 * The node's bounds. The engine's config schema builds on this very object, so a limit a
 * person edits in Settings is checked by the same rules as one in the config file.
 */
export const LimitsSchema = z
  .object({
    maxConnections: positiveInt.max(100_000),
    /** Inbound connection attempts per second per host before refusing (a relay or a test harness may take many from one host). */
    inboundConnectionThreshold: positiveInt.max(1_000_000),
    maxIncomingPendingConnections: positiveInt.max(100_000),
    peerDirectoryMax: positiveInt.max(1_000_000),
    peerDirectoryTtlMs: positiveInt.max(30 * 24 * 60 * 60 * 1000),
  })
  .strict()
export type Limits = z.output<typeof LimitsSchema>

export const DEFAULT_LIMITS: Limits = {
  maxConnections: 100,
  inboundConnectionThreshold: 5,
  maxIncomingPendingConnections: 10,
  peerDirectoryMax: 1000,
  peerDirectoryTtlMs: 60 * 60 * 1000,
}

export type LimitName = keyof Limits

/** What a node's settings can be changed to from the UI; the rest is for whoever starts it. */
export const SettingsUpdateSchema = z
  .object({
    /** Applies at once. */
    logLevel: z.enum(LOG_LEVELS).optional(),
    /** Full relay multiaddrs with /p2p/<relay id>; apply from the next start. */
    relays: z.array(MultiaddrTextSchema).max(MAX_RELAYS).optional(),
    /** Only the limits named change; apply from the next start. */
    limits: LimitsSchema.partial().optional(),
    ...idempotent,
  })
  .strict()
export type SettingsUpdate = z.infer<typeof SettingsUpdateSchema>

/** The keys of SettingsUpdate as config paths, which is how `editable.fixed` names them. */
export const EDITABLE_KEYS = ['logLevel', 'p2p.relays', ...Object.keys(LimitsSchema.shape).map((k) => `limits.${k}`)] as const

/** What the engine runs with, as a person reviewing it needs to see; never a secret. */
const SettingsSchema = z.object({
  network: z.string(),
  dataDir: z.string(),
  logLevel: z.enum(LOG_LEVELS),
  p2p: z.object({
    host: z.string(),
    port: z.number().int().nonnegative(),
    relays: z.array(z.string()),
    announce: z.array(z.string()),
    mdns: z.boolean(),
  }),
  limits: LimitsSchema,
  /** What updateSettings may change, and what the node will run with after its next start. */
  editable: z.object({
    /** The file saved changes go to. */
    configFile: z.string(),
    /** Keys (`logLevel`, `p2p.relays`, `limits.<name>`) set by the environment or the command line: a saved value would not win, so they cannot be changed here. */
    fixed: z.array(z.string()),
    /** Relays and limits as saved: what the node uses from its next start. */
    next: z.object({ relays: z.array(z.string()), limits: LimitsSchema }),
  }),
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

const profileFields = {
  /** The name peers see in their directory; null: peers show the peer id only. */
  name: ProfileNameSchema.nullable(),
  /** What this node offers, priced in satoshis. */
  services: z.array(ServiceSchema.extend({ name: ProfileNameSchema }).strict()).max(MAX_PROFILE_SERVICES),
}

function checkProfile(p: { name: string | null; services: { name: string }[] }, ctx: z.RefinementCtx): void {
  const names = new Set<string>()
  for (const [i, s] of p.services.entries()) {
    if (names.has(s.name)) ctx.addIssue({ code: 'custom', path: ['services', i, 'name'], message: 'two services have this name' })
    names.add(s.name)
  }
  const bytes = new TextEncoder().encode(JSON.stringify({ name: p.name, services: p.services })).length
  if (bytes > MAX_PROFILE_BYTES) ctx.addIssue({ code: 'custom', path: ['services'], message: `the profile is ${bytes} bytes; at most ${MAX_PROFILE_BYTES} fit in an announcement` })
}

/** How this node presents itself to peers: announced, signed, with every announcement. */
export const ProfileSchema = z.object(profileFields).strict().superRefine(checkProfile)
const ProfileUpdateSchema = z.object({ ...profileFields, ...idempotent }).strict().superRefine(checkProfile)
export type Profile = z.infer<typeof ProfileSchema>

export const settingsMethods = {
  getSettings: method('The configuration the engine runs with, and what its next start will use.', z.object({}).strict().default({}), SettingsSchema),
  updateSettings: method('Save the log level (applied at once), relays and limits (applied from the next start) to the config file.', SettingsUpdateSchema, SettingsSchema),
  getProfile: method('The name and services this node announces to peers.', z.object({}).strict().default({}), ProfileSchema),
  updateProfile: method('Replace the name and services this node announces; saved, then announced at once.', ProfileUpdateSchema, ProfileSchema),
}

export const settingsEvents = {
  /** The profile changed (from any window or browser tab). */
  profile: ProfileSchema,
  /** Settings were saved (from any window or browser tab). */
  settings: SettingsSchema,
}
