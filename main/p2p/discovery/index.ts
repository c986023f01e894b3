export { AnnouncementService } from './announcement-service.js'
export { NodeProfile, profileMigrations } from './node-profile.js'
