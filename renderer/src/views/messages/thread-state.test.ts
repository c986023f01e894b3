import { describe, expect, it } from 'vitest'
import type { Message } from '../../../../shared/contract/index.js'
import { EMPTY_THREAD, THREAD_MAX_ROWS, THREAD_PAGE, THREAD_TAIL_ROWS, findSeq, newestInbound, withFirstPage, withMessages, withOlderPage, withSent, withoutSeq } from './thread-state.js'

const PEER = '12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ'
const msg = (seq: number, over: Partial<Message> = {}): Message => ({
  id: `m${seq}`,
  seq,
  peerId: PEER,
  direction: 'out',
  text: `text ${seq}`,
  sentAt: new Date(seq * 1000).toISOString(),
  receivedAt: null,
  status: 'pending',
  ...over,
})
/** A page as listMessages answers it: newest first. */
const page = (from: number, to: number): Message[] => Array.from({ length: to - from + 1 }, (_, i) => msg(to - i))
const seqs = (rows: Message[]): number[] => rows.map((m) => m.seq)

describe('thread window', () => {
  it('shows the first page oldest first and knows whether older pages exist', () => {
    const t = withFirstPage([msg(5), msg(3, { direction: 'in', status: 'received' }), msg(1)])
    expect(seqs(t.rows)).toEqual([1, 3, 5])
    expect(t).toMatchObject({ loaded: true, hasOlder: false, hasNewer: false })
    expect(withFirstPage(page(1, THREAD_PAGE)).hasOlder).toBe(true)
    expect(EMPTY_THREAD.loaded).toBe(false)
  })

  it('upserts a batch by seq, in order, and deletes', () => {
    let t = withFirstPage([msg(4), msg(1)])
    t = withMessages(t, [msg(2), msg(6), msg(2, { status: 'failed' })], true)
    expect(seqs(t.rows)).toEqual([1, 2, 4, 6])
    expect(t.rows[1]!.status).toBe('failed')
    // A retried message becomes pending again.
    t = withMessages(t, [msg(2, { status: 'pending' })], true)
    expect(t.rows[1]!.status).toBe('pending')
    t = withoutSeq(t, 2)
    expect(seqs(t.rows)).toEqual([1, 4, 6])
    expect(withoutSeq(t, 99)).toBe(t)
    expect(withMessages(t, [], true)).toBe(t)
  })

  it('never lets a late copy undo a delivery, nor a send answer overwrite its event', () => {
    const t = withFirstPage([msg(1, { status: 'delivered' })])
    expect(withMessages(t, [msg(1, { status: 'pending' })], true)).toBe(t)
    expect(withSent(t, msg(1, { status: 'pending' }))).toBe(t)
    const pending = withFirstPage([msg(2)])
    expect(withSent(pending, msg(2, { text: 'other' }))).toBe(pending)
    expect(seqs(withSent(withFirstPage([]), msg(2)).rows)).toEqual([2])
  })

  it('keeps a bounded tail while following 1,000 arriving messages, in batches', () => {
    let t = withFirstPage(page(1, THREAD_PAGE))
    for (let b = 0; b < 10; b++) t = withMessages(t, page(THREAD_PAGE + 1 + b * 100, THREAD_PAGE + (b + 1) * 100).reverse(), true)
    expect(t.rows).toHaveLength(THREAD_TAIL_ROWS)
    expect(t.rows.at(-1)!.seq).toBe(THREAD_PAGE + 1000)
    expect(t.hasOlder).toBe(true)
    expect(t.rows.every((m, i) => i === 0 || m.seq > t.rows[i - 1]!.seq)).toBe(true)
  })

  it('pages back up to a cap, then drops the newest end and waits for the reload', () => {
    let t = withFirstPage(page(901, 1000))
    for (let to = 900; to > 0; to -= THREAD_PAGE) t = withOlderPage(t, page(to - THREAD_PAGE + 1, to))
    expect(t.rows).toHaveLength(THREAD_MAX_ROWS)
    expect(t.rows[0]!.seq).toBe(1)
    expect(t.hasNewer).toBe(true)
    // A message newer than the dropped end is not shown out of place.
    expect(withMessages(t, [msg(1001)], false)).toBe(t)
    // An older page that overlaps adds only what is older.
    const u = withOlderPage(withFirstPage(page(11, 20), 10), page(5, 15), 10)
    expect(seqs(u.rows)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])
    expect(u.hasOlder).toBe(true)
  })

  it('finds seqs by binary search and the newest received one', () => {
    const rows = [msg(1), msg(3, { direction: 'in', status: 'received' }), msg(7)]
    expect(findSeq(rows, 3)).toBe(1)
    expect(findSeq(rows, 5)).toBe(-3)
    expect(findSeq(rows, 9)).toBe(-4)
    expect(newestInbound(rows)).toBe(3)
    expect(newestInbound([msg(1)])).toBe(0)
  })
})
