import type { Contact } from '../../../shared/contract/index.js'
import { defineDomain } from './domain.js'

export interface ContactsSlice {
  /** The user's own names for peers, by name; every change arrives whole in the `contacts` event. */
  contacts: Contact[]
}

export const contactsDomain = defineDomain<ContactsSlice>({
  name: 'contacts',
  initial: { contacts: [] },
  load: async (api) => ({ contacts: await api.listContacts() }),
  events: { contacts: (contacts) => ({ contacts }) },
})
