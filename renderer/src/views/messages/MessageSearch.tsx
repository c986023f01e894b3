import { type FormEvent, type ReactElement, useCallback, useId, useState } from 'react'
import type { Message } from '../../../../shared/contract/index.js'
import { shortClock } from '../../human.js'
import { useApp } from '../app-context.js'
import { PeerName } from '../PeerName.js'
import { useAction } from '../use-action.js'
import { messageTime } from './thread-state.js'

/** Full-text search over every stored message; a result opens its conversation. */
export function MessageSearch(): ReactElement {
  const { connection } = useApp()
  const id = useId()
  const [query, setQuery] = useState('')
  const search = useCallback(async (q: string): Promise<{ query: string; results: Message[] }> => ({ query: q, results: await connection.api.searchMessages({ query: q, limit: 50 }) }), [connection])
  const action = useAction(search)

  const submit = (e: FormEvent): void => {
    e.preventDefault()
    if (query.trim() !== '') void action.run(query.trim())
  }

  const found = action.result
  return (
    <div className="message-search">
      <form role="search" onSubmit={submit}>
        <label htmlFor={`${id}-q`} className="sr-only">
          Search messages
        </label>
        <input id={`${id}-q`} type="search" placeholder="Search messages" value={query} maxLength={512} onChange={(e) => setQuery(e.target.value)} data-testid="message-search-input" />
        <button type="submit" className="secondary" disabled={action.pending || query.trim() === ''} data-testid="message-search-submit">
          {action.pending ? 'Searching…' : 'Search'}
        </button>
        {found && (
          <button
            type="button"
            className="link-button"
            onClick={() => {
              action.reset()
              setQuery('')
            }}
          >
            Clear
          </button>
        )}
      </form>
      {action.error && (
        <p className="field-error" role="alert">
          {action.error}
        </p>
      )}
      {found && (
        <div className="search-results" data-testid="message-search-results" data-count={found.results.length}>
          <p className="muted" role="status">
            {found.results.length === 0 ? `Nothing found for “${found.query}”.` : `${found.results.length === 50 ? 'The 50 best' : found.results.length} match${found.results.length === 1 ? '' : 'es'} for “${found.query}”.`}
          </p>
          <ul>
            {found.results.map((m) => {
              const at = messageTime(m)
              return (
                <li key={m.seq} data-testid="search-result" data-message-seq={m.seq}>
                  <a href={`#/messages/${encodeURIComponent(m.peerId)}`}>
                    <span className="conversation-top">
                      <PeerName peerId={m.peerId} />
                      {Number.isNaN(at) ? null : <time dateTime={new Date(at).toISOString()}>{shortClock(at)}</time>}
                    </span>
                    <span className="conversation-last">
                      {m.direction === 'out' ? 'You: ' : ''}
                      {m.text.length > 160 ? `${m.text.slice(0, 159)}…` : m.text}
                    </span>
                  </a>
                </li>
              )
            })}
          </ul>
        </div>
      )}
    </div>
  )
}
