import type { Channel } from '../../../shared/contract/index.js'
import { defineDomain } from './domain.js'

export interface ChannelsSlice {
  /** Every channel, archived ones included (`archivedAt` set), newest first (by creation). */
  channels: Channel[]
}

/**
 * Whether `a` is a later view of the same channel than `b`. A state change bumps
 * `updatedAt`; a payment may not (the payee's emit keeps the old time) but always grows
 * `seq`, so the pair orders every change.
 */
function isNewer(a: Channel, b: Channel): boolean {
  const ta = Date.parse(a.updatedAt)
  const tb = Date.parse(b.updatedAt)
  if (ta !== tb) return ta > tb
  return a.seq > b.seq
}

const newestFirst = (a: Channel, b: Channel): number => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)

/** The list with `changed` in place of its older view (or added); an older view changes nothing. */
export function upsertChannel(list: Channel[], changed: Channel): Channel[] {
  const i = list.findIndex((c) => c.id === changed.id)
  if (i >= 0) {
    if (!isNewer(changed, list[i]!) && !sameView(changed, list[i]!)) return list
    const next = list.slice()
    next[i] = changed
    return next
  }
  return [...list, changed].sort(newestFirst)
}

/**
 * A snapshot that events overtook: per channel the later view wins, so neither a stale
 * snapshot nor a missed event leaves an old state on screen.
 */
export function mergeChannels(snapshot: Channel[], current: Channel[]): Channel[] {
  const byId = new Map(snapshot.map((c) => [c.id, c]))
  for (const c of current) {
    const s = byId.get(c.id)
    if (!s || isNewer(c, s)) byId.set(c.id, c)
  }
  return [...byId.values()].sort(newestFirst)
}

// An event with the same time and seq as what we hold is still the later news (a state
// change within the same millisecond), so it replaces; only a strictly older view is dropped.
function sameView(a: Channel, b: Channel): boolean {
  return a.updatedAt === b.updatedAt && a.seq === b.seq
}

export const channelsDomain = defineDomain<ChannelsSlice>({
  name: 'channels',
  initial: { channels: [] },
  // Archived channels too: the list hides them, "Show archived" brings them back, and the
  // wallet history still names their peers.
  load: async (api) => {
    const [shown, archived] = await Promise.all([api.listChannels(), api.listChannels({ archived: true })])
    return { channels: [...shown, ...archived].sort(newestFirst) }
  },
  events: { channels: (channel, state) => ({ channels: upsertChannel(state.channels, channel) }) },
  merge: (snapshot, state) => ({ channels: mergeChannels(snapshot.channels ?? [], state.channels) }),
})
