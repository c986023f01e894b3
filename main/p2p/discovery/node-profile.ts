import { type Profile, ProfileSchema } from '../../../shared/contract/index.js'
import type { EventBus, Startable } from '../../kit/index.js'
import type { Migration, Store } from '../../store/index.js'
import type { Logger } from '../../telemetry/index.js'
import type { SelfDescription } from './announcement-service.js'

/** One row: what this node says about itself. A person's choice, so it lives with their data, not in config. */
export const profileMigrations: readonly Migration[] = [
  {
    id: 'discovery-001',
    up: `
      CREATE TABLE node_profile (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT,
        services TEXT NOT NULL
      ) STRICT;
    `,
  },
]

export interface NodeProfileComponents {
  store: Store
  /** Where the profile is announced (AnnouncementService.describe). */
  announcer: { describe(update: SelfDescription): void }
  events: EventBus
  logger: Logger
}

const EMPTY: Profile = { name: null, services: [] }

/**
 * The name and services this node announces. Read once at start and handed to discovery
 * before it first announces; an update is on disk before it is announced or answered.
 */
export class NodeProfile implements Startable {
  private current: Profile = EMPTY

  constructor(private readonly components: NodeProfileComponents) {}

  async start(): Promise<void> {
    this.current = this.read()
    this.components.announcer.describe(toSelf(this.current))
  }

  async stop(): Promise<void> {}

  get(): Profile {
    return this.current
  }

  /** `profile` has passed the contract's schema (dispatch checks it). */
  update(profile: Profile): Profile {
    this.components.store.db
      .prepare('INSERT INTO node_profile (id, name, services) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, services = excluded.services')
      .run(profile.name, JSON.stringify(profile.services))
    this.current = profile
    this.components.announcer.describe(toSelf(profile))
    this.components.events.emit('profile', profile)
    return profile
  }

  private read(): Profile {
    const row = this.components.store.db.prepare('SELECT name, services FROM node_profile WHERE id = 1').get() as { name: string | null; services: string } | undefined
    if (!row) return EMPTY
    let services: unknown
    try {
      services = JSON.parse(row.services)
    } catch {
      services = null
    }
    const parsed = ProfileSchema.safeParse({ name: row.name, services })
    if (parsed.success) return parsed.data
    // Written by an older or newer build with other rules: announce nothing rather than something wrong.
    this.components.logger.warn('stored profile ignored: it does not pass the current rules', { issues: parsed.error.issues.length })
    return EMPTY
  }
}

function toSelf(p: Profile): SelfDescription {
  return { name: p.name ?? undefined, services: p.services }
}
