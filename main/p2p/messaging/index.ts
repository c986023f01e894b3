export { MessagingService } from './service.js'
export { messagingInitFromConfig } from './settings.js'
export { messagingHandlers } from './handlers.js'
export { messagingMigrations } from './migrations.js'
