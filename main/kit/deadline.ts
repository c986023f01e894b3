/**
 * A signal that aborts when `parent` does or after `timeoutMs`, whichever comes first, and
 * that lets go of both once `release()` is called. `AbortSignal.any([parent, timeout])`
 * would do the first half, but on Node 20 every call leaves a WeakRef on a long-lived parent
 * that is never cleaned up: one per HTTP request of a wallet sync, thousands an hour.
 */
export function deadline(timeoutMs: number, parent?: AbortSignal): { signal: AbortSignal; timedOut: () => boolean; release: () => void } {
  const controller = new AbortController()
  let timedOut = false
  const onParentAbort = (): void => controller.abort(parent?.reason)
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError'))
  }, timeoutMs)
  if (parent?.aborted) onParentAbort()
  else parent?.addEventListener('abort', onParentAbort, { once: true })
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    release: () => {
      clearTimeout(timer)
      parent?.removeEventListener('abort', onParentAbort)
    },
  }
}
