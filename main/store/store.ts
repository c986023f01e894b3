import type { Startable } from '../lifecycle/index.js'
import { secureDataDir } from './data-dir.js'
import { type Db, type Migration, migrate, openDatabase } from './database.js'

export interface StoreInit {
  dataDir: string
  migrations: readonly Migration[]
  busyTimeoutMs?: number
}

export class StoreClosedError extends Error {
  override readonly name = 'StoreClosedError'
  constructor() {
    super('the store is not open')
  }
}

/**
 * The one SQLite connection of a data directory. Repositories take the Store and ask
 * for `db` when they run, so a stopped store fails loudly instead of writing nowhere.
 */
export class Store implements Startable {
  private connection: Db | null = null

  constructor(private readonly init: StoreInit) {}

  get db(): Db {
    if (!this.connection) throw new StoreClosedError()
    return this.connection
  }

  get isOpen(): boolean {
    return this.connection !== null
  }

  async start(): Promise<void> {
    if (this.connection) return
    secureDataDir(this.init.dataDir)
    const db = openDatabase(this.init.dataDir, { busyTimeoutMs: this.init.busyTimeoutMs })
    try {
      migrate(db, this.init.migrations)
    } catch (err) {
      db.close()
      throw err
    }
    this.connection = db
  }

  async stop(): Promise<void> {
    const db = this.connection
    this.connection = null
    if (!db) return
    // Fold the WAL back into the main file so a copied data dir is complete.
    try {
      db.pragma('wal_checkpoint(TRUNCATE)')
    } finally {
      db.close()
    }
  }
}
