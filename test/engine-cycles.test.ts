import { describe, expect, it } from 'vitest'
import { firstLine, runEntry } from './helpers/processes.js'

describe('engine start/stop cycles', () => {
  it('keeps heap (after GC) and active handles flat over hundreds of cycles', async () => {
    const proc = runEntry('test/fixtures/engine-cycles.ts', ['--cycles', '300', '--warmup', '50'], { nodeArgs: ['--expose-gc'] })
    const result = JSON.parse(await firstLine(proc, 240_000)) as {
      heapGrowthBytes: number
      handleGrowth: number
      eventListeners: number
      samples: { heapUsed: number }[]
    }
    expect(await proc.exited).toBe(0)
    expect(proc.stderrTail()).not.toMatch(/MaxListenersExceeded/)
    // 250 measured cycles: a leak of even 20 KB per cycle would show as 5 MB.
    expect(result.heapGrowthBytes).toBeLessThan(5 * 1024 * 1024)
    expect(result.handleGrowth).toBeLessThanOrEqual(1)
    expect(result.eventListeners).toBe(0)
  }, 300_000)
})
