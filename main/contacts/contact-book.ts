import { type Contact, ContactNameSchema, ContractError, MAX_CONTACTS, PeerIdTextSchema } from '../../shared/contract/index.js'
import type { EventBus, Startable } from '../kit/index.js'
import { type Store, isDiskFault } from '../store/index.js'
import type { Logger } from '../telemetry/index.js'

export interface ContactBookComponents {
  store: Store
  events: EventBus
  logger: Logger
}

export interface ContactBookInit {
  /** The most contacts kept; a new one beyond is refused. Default MAX_CONTACTS (10,000). */
  maxContacts?: number
}

interface Row {
  peer_id: string
  name: string
  updated_at: number
}

/**
 * The names the user gives peers. All of them in memory (at most 10,000 short rows), read
 * once at start, so naming a peer in a notice or a list costs a map lookup; a change is on
 * disk before it is visible, answered or emitted.
 */
export class ContactBook implements Startable {
  private readonly maxContacts: number
  private contacts = new Map<string, Contact>()
  private running = false

  constructor(
    private readonly components: ContactBookComponents,
    init: ContactBookInit = {},
  ) {
    this.maxContacts = init.maxContacts ?? MAX_CONTACTS
  }

  async start(): Promise<void> {
    this.contacts = new Map()
    const rows = this.components.store.db.prepare('SELECT peer_id, name, updated_at FROM contacts').all() as Row[]
    let skipped = 0
    for (const row of rows) {
      // Written by another build with other rules: leave it on disk, show nothing wrong.
      const name = ContactNameSchema.safeParse(row.name)
      if (!PeerIdTextSchema.safeParse(row.peer_id).success || !name.success || name.data !== row.name) {
        skipped++
        continue
      }
      this.contacts.set(row.peer_id, { peerId: row.peer_id, name: row.name, updatedAt: new Date(row.updated_at).toISOString() })
    }
    if (skipped > 0) this.components.logger.warn('stored contacts ignored: they do not pass the current rules', { skipped })
    this.running = true
  }

  async stop(): Promise<void> {
    this.running = false
    this.contacts = new Map()
  }

  get size(): number {
    return this.contacts.size
  }

  /** Every contact, by name (then peer id, so the order is stable). */
  list(): Contact[] {
    return [...this.contacts.values()].sort((a, b) => a.name.localeCompare(b.name) || (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0))
  }

  /** The user's name for a peer, if they gave it one. */
  nameOf(peerId: string): string | undefined {
    return this.contacts.get(peerId)?.name
  }

  /** `peerId` and `name` have passed the contract's schema (trimmed, NFC, 1..64, no controls). */
  set(peerId: string, name: string): Contact {
    this.assertRunning()
    const existing = this.contacts.get(peerId)
    if (existing?.name === name) return existing
    if (!existing && this.contacts.size >= this.maxContacts) {
      throw new ContractError('invalid_state', `you have named ${this.maxContacts.toLocaleString('en-US')} peers, the most this wallet keeps; remove a name first`, { reason: 'contact-limit', limit: this.maxContacts })
    }
    const now = Date.now()
    this.write(() => this.components.store.db.prepare('INSERT INTO contacts (peer_id, name, updated_at) VALUES (?, ?, ?) ON CONFLICT (peer_id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at').run(peerId, name, now))
    const contact: Contact = { peerId, name, updatedAt: new Date(now).toISOString() }
    this.contacts.set(peerId, contact)
    this.changed()
    return contact
  }

  /** Forgets a peer's name; false when it had none. */
  remove(peerId: string): { removed: boolean } {
    this.assertRunning()
    if (!this.contacts.has(peerId)) return { removed: false }
    this.write(() => this.components.store.db.prepare('DELETE FROM contacts WHERE peer_id = ?').run(peerId))
    this.contacts.delete(peerId)
    this.changed()
    return { removed: true }
  }

  private write(run: () => void): void {
    const { store } = this.components
    try {
      run()
      store.noteWrite(null)
    } catch (err) {
      store.noteWrite(err)
      if (isDiskFault(err)) throw new ContractError('unavailable', 'the disk refuses writes to the database; the name was not saved')
      throw err
    }
  }

  private changed(): void {
    this.components.events.emit('contacts', this.list())
  }

  private assertRunning(): void {
    if (!this.running) throw new ContractError('unavailable', 'the engine is not running')
  }
}
