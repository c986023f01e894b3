export interface Startable {
  start(): Promise<void>
  stop(): Promise<void>
}

export interface NamedStartable {
  name: string
  part: Startable
}

/**
 * Start parts in order; if one fails, stop those already started (in reverse) and
 * rethrow, so a failed start never leaves half a system running.
 */
export async function startAll(parts: readonly NamedStartable[]): Promise<void> {
  const started: NamedStartable[] = []
  for (const entry of parts) {
    try {
      await entry.part.start()
      started.push(entry)
    } catch (err) {
      await stopAll(started).catch(() => {})
      throw new StartError(entry.name, err)
    }
  }
}

/** Stop parts in reverse order; every part gets its stop even if an earlier one throws. */
export async function stopAll(parts: readonly NamedStartable[]): Promise<void> {
  const errors: unknown[] = []
  for (const entry of [...parts].reverse()) {
    try {
      await entry.part.stop()
    } catch (err) {
      errors.push(new Error(`${entry.name} failed to stop: ${String((err as Error)?.message ?? err)}`, { cause: err }))
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, 'some parts failed to stop')
}

class StartError extends Error {
  override readonly name = 'StartError'
  constructor(
    readonly part: string,
    cause: unknown,
  ) {
    super(`${part} failed to start: ${String((cause as Error)?.message ?? cause)}`, { cause })
  }
}
