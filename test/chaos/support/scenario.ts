import { afterAll, beforeAll } from 'vitest'
import { type DevnetProc, startDevnet } from '../../helpers/processes.js'

/**
 * What every process scenario shares: one devnet process for the file, and a cleanup list
 * run in reverse after the last test (processes first, then their directories).
 */
export function scenarioSetup(): { devnet: () => DevnetProc; cleanups: (() => Promise<unknown> | void)[] } {
  const cleanups: (() => Promise<unknown> | void)[] = []
  let devnet: DevnetProc | undefined
  beforeAll(async () => {
    devnet = await startDevnet()
    cleanups.push(() => devnet?.kill())
  })
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c()
  })
  return {
    devnet: () => {
      if (!devnet) throw new Error('the devnet starts in beforeAll')
      return devnet
    },
    cleanups,
  }
}
