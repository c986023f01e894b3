// The in-page half of the messages-render bench: probes installed in the renderer's page
// (Playwright init script, so it is there before the app's own scripts). Kept as plain
// JavaScript text: functions handed to page.evaluate pass through tsx, whose name helpers
// do not exist in the page. Everything here is bounded (MAX entries per list).

export interface OpenTiming {
  /** ms from the click to the DOM holding what the predicate asks for. */
  dom: number
  /** ms from the click to the first animation frame with it (what a person sees). */
  frame: number
  /** /api/* requests that started in the window: path, start offset and duration (ms). */
  api: { path: string; start: number; duration: number }[]
  /** Long tasks (> 50 ms) in the window. */
  longTasks: number[]
  rows: number
  /** Whether what was waited for was inside the window too (not only its scroll box). */
  inViewport: boolean
}

export interface ProbeReport {
  /** Gaps between consecutive animation frames (ms). */
  frameGaps: number[]
  /** How late a 20 ms interval timer fired (ms): main-thread lag. */
  timerLags: number[]
  longTasks: { start: number; duration: number }[]
  /** Input events slower than 16 ms from input to the next paint (Event Timing). */
  slowEvents: { name: string; duration: number; delay: number; processing: number }[]
  /** seq → epoch ms at which a row with that data-message-seq was first added to the DOM. */
  appeared: Record<string, number>
  windowMs: number
  rows: number
}

export const PAGE_PROBE = String.raw`
(() => {
  if (window.__msgbench) return
  const MAX = 60000
  const now = () => performance.now()
  const rec = { on: false, t0: 0, frames: [], lags: [], longTasks: [], events: [], appeared: new Map() }
  const openLongTasks = []
  try { performance.setResourceTimingBufferSize(20000) } catch {}
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (rec.on && rec.longTasks.length < MAX) rec.longTasks.push({ start: e.startTime - rec.t0, duration: e.duration })
        if (openLongTasks.length < MAX) openLongTasks.push({ start: e.startTime, duration: e.duration })
      }
    }).observe({ type: 'longtask' })
  } catch {}
  try {
    new PerformanceObserver((list) => {
      if (!rec.on) return
      for (const e of list.getEntries()) {
        if (rec.events.length < MAX) rec.events.push({ name: e.name, duration: e.duration, delay: e.processingStart - e.startTime, processing: e.processingEnd - e.processingStart })
      }
    }).observe({ type: 'event', durationThreshold: 16 })
  } catch {}

  const inViewport = (el) => {
    const r = el.getBoundingClientRect()
    return r.height > 0 && r.width > 0 && r.bottom > 0 && r.top < window.innerHeight
  }
  // Shown by its scroll container (the thread's own scrolling box), wherever the page is scrolled.
  const isVisible = (el) => {
    const r = el.getBoundingClientRect()
    if (r.height === 0 || r.width === 0) return false
    for (let p = el.parentElement; p; p = p.parentElement) {
      const oy = getComputedStyle(p).overflowY
      if ((oy === 'auto' || oy === 'scroll') && p.scrollHeight > p.clientHeight) {
        const c = p.getBoundingClientRect()
        return r.bottom > c.top && r.top < c.bottom
      }
    }
    return inViewport(el)
  }
  let lastShown = null
  const rowsIn = (root) => root ? root.querySelectorAll('[data-message-seq]') : []
  const predicates = {
    list: (a) => document.querySelectorAll('[data-conversation]').length >= a.count,
    listVisible: () => { const el = document.querySelector('[data-conversation]'); lastShown = el; return !!el && isVisible(el) },
    thread: (a) => {
      const t = document.querySelector('[data-thread="' + a.peer + '"][data-loaded="true"]')
      if (!t) return false
      if (a.newest !== undefined && !document.querySelector('[data-message-seq="' + a.newest + '"]')) return false
      return rowsIn(t).length > 0 || document.querySelectorAll('[data-message-seq]').length > 0
    },
    threadVisible: (a) => {
      const t = document.querySelector('[data-thread="' + a.peer + '"]')
      let rows = rowsIn(t)
      if (rows.length === 0) rows = document.querySelectorAll('[data-message-seq]')
      if (rows.length === 0) return false
      // The newest row (or, failing that, the last in the DOM) is on screen.
      const newest = a.newest !== undefined ? document.querySelector('[data-message-seq="' + a.newest + '"]') : rows[rows.length - 1]
      lastShown = newest
      return !!newest && isVisible(newest)
    },
  }
  const describe = () => ({
    hash: location.hash,
    conversations: document.querySelectorAll('[data-conversation]').length,
    threads: [...document.querySelectorAll('[data-thread]')].map((t) => t.getAttribute('data-thread') + ' loaded=' + t.getAttribute('data-loaded')),
    rows: document.querySelectorAll('[data-message-seq]').length,
    view: document.querySelector('main') ? document.querySelector('main').getAttribute('data-testid') : null,
  })

  window.__msgbench = {
    describe,
    /** Clicks (or, without a selector, navigates to hash) and times until the predicate holds and a frame shows it. */
    open: (o) => new Promise((resolve, reject) => {
      performance.clearResourceTimings()
      openLongTasks.length = 0
      const check = () => predicates[o.kind](o.arg)
      const visible = () => predicates[o.kind + 'Visible'](o.arg)
      let done = false
      let tDom = -1
      const t0 = now()
      performance.mark('msgbench-open-start')
      const finish = (tFrame) => {
        done = true
        mo.disconnect()
        clearTimeout(timer)
        performance.mark('msgbench-open-end')
        const api = performance.getEntriesByType('resource')
          .filter((e) => e.startTime >= t0 && e.name.includes('/api/'))
          .map((e) => ({ path: new URL(e.name).pathname, start: e.startTime - t0, duration: e.duration }))
        const end = t0 + tFrame
        resolve({ dom: tDom, frame: tFrame, api, longTasks: openLongTasks.filter((l) => l.start >= t0 && l.start <= end).map((l) => l.duration), rows: document.querySelectorAll('[data-message-seq]').length, inViewport: !!lastShown && inViewport(lastShown) })
      }
      // Each frame after the DOM is ready: is it on screen yet? Layout is read there, where the frame pays for it anyway.
      const onFrame = () => {
        if (done) return
        if (tDom >= 0 && visible()) finish(now() - t0)
        else requestAnimationFrame(onFrame)
      }
      const mo = new MutationObserver(() => {
        if (tDom < 0 && check()) tDom = now() - t0
      })
      mo.observe(document.documentElement, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-loaded', 'data-thread', 'data-conversation', 'data-message-seq'] })
      const timer = setTimeout(() => {
        if (done) return
        done = true
        mo.disconnect()
        reject(new Error('not shown within ' + o.timeoutMs + ' ms (dom ready: ' + (tDom >= 0) + '): ' + JSON.stringify(describe())))
      }, o.timeoutMs)
      if (o.click) {
        const el = document.querySelector(o.click)
        if (!el) { done = true; mo.disconnect(); clearTimeout(timer); reject(new Error('nothing to click at ' + o.click + ': ' + JSON.stringify(describe()))); return }
        // A list item holding a link is clicked where a person would: on the link.
        const target = el.matches('a, button') ? el : (el.querySelector('a, button') || el)
        target.click()
      } else {
        location.hash = o.hash
      }
      if (check()) tDom = now() - t0
      requestAnimationFrame(onFrame)
    }),
    /** Frames, timer lag, long tasks, slow input and row arrivals, until stop(). */
    start: () => {
      rec.on = true
      rec.t0 = now()
      rec.frames = []; rec.lags = []; rec.longTasks = []; rec.events = []; rec.appeared = new Map()
      let lastFrame = -1
      const frame = (t) => {
        if (!rec.on) return
        if (lastFrame >= 0 && rec.frames.length < MAX) rec.frames.push(t - lastFrame)
        lastFrame = t
        requestAnimationFrame(frame)
      }
      requestAnimationFrame(frame)
      let expected = now() + 20
      rec.interval = setInterval(() => {
        const t = now()
        if (rec.lags.length < MAX) rec.lags.push(Math.max(0, t - expected))
        expected = t + 20
      }, 20)
      const note = (el) => {
        const seq = el.getAttribute('data-message-seq')
        if (seq !== null && !rec.appeared.has(seq) && rec.appeared.size < MAX) rec.appeared.set(seq, performance.timeOrigin + now())
      }
      rec.mo = new MutationObserver((muts) => {
        for (const m of muts) {
          for (const n of m.addedNodes) {
            if (n.nodeType !== 1) continue
            if (n.hasAttribute('data-message-seq')) note(n)
            for (const el of n.querySelectorAll('[data-message-seq]')) note(el)
          }
          if (m.type === 'attributes' && m.target.nodeType === 1 && m.target.hasAttribute('data-message-seq')) note(m.target)
        }
      })
      rec.mo.observe(document.documentElement, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-message-seq'] })
    },
    stop: () => {
      rec.on = false
      clearInterval(rec.interval)
      rec.mo.disconnect()
      return { frameGaps: rec.frames, timerLags: rec.lags, longTasks: rec.longTasks, slowEvents: rec.events, appeared: Object.fromEntries(rec.appeared), windowMs: now() - rec.t0, rows: document.querySelectorAll('[data-message-seq]').length }
    },
    /** epoch ms at which seq was first seen while recording, or null. */
    seen: (seq) => rec.appeared.get(String(seq)) ?? (document.querySelector('[data-message-seq="' + seq + '"]') ? performance.timeOrigin + now() : null),
  }
})()
`
