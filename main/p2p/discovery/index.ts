export { AnnouncementService, DiscoveryUnavailableError, type AnnouncementComponents, type AnnouncementInit, type SelfDescription } from './announcement-service.js'
export { AnnouncementSchema, checkAnnouncement, type Announcement, type AnnouncedPeer } from './announcement.js'
export { ANNOUNCE_TOPIC } from './constants.js'
export { NodeProfile, profileMigrations, type NodeProfileComponents } from './node-profile.js'
