export { ContactBook } from './contact-book.js'
export { contactHandlers } from './handlers.js'
export { contactMigrations } from './migrations.js'
