export { openDatabase, migrate, DATABASE_FILE, MigrationError, type Db, type Migration } from './database.js'
export { Store, StoreClosedError, type StoreInit } from './store.js'
export { GroupCommit } from './group-commit.js'
export { writeFileAtomically } from './atomic-file.js'
