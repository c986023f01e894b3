export { ContactBook, type ContactBookComponents, type ContactBookInit } from './contact-book.js'
export { contactHandlers } from './handlers.js'
export { contactMigrations } from './migrations.js'
