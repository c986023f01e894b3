import type { Disposables } from './disposables.js'

/** Anything with typed DOM-style events: libp2p, its services, the relay reservation store. */
export interface TypedEventSource<M> {
  addEventListener<K extends keyof M>(type: K, listener: ((evt: M[K]) => void) | null): void
  removeEventListener<K extends keyof M>(type: K, listener?: ((evt: M[K]) => void) | null): void
}

/**
 * Typed twin of `Disposables.listen` for libp2p's event targets, whose generic signatures
 * the DOM-style overload does not accept: `listenerOf<Events>(d, target)(type, fn)` listens
 * until `d` is disposed.
 */
export function listenerOf<M>(d: Disposables, target: TypedEventSource<M>) {
  return <K extends keyof M & string>(type: K, listener: (evt: M[K]) => void): void => {
    target.addEventListener(type, listener)
    d.add(() => target.removeEventListener(type, listener))
  }
}
