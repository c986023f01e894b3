import { afterEach, describe, expect, it } from 'vitest'
import { tempDir } from '../../test/helpers/processes.js'
import { validateConfig } from '../config/index.js'
import { createLogger } from '../telemetry/index.js'
import { Engine } from './engine.js'

const dirs: { remove: () => void }[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove()
})

/** An engine (built, never started: nothing here needs the network or the disk) whose log lines the test reads. */
function engineWithCapturedLog(): { engine: Engine; lines: Record<string, any>[] } {
  const dir = tempDir()
  dirs.push(dir)
  const lines: Record<string, any>[] = []
  const logger = createLogger({ level: 'info', sink: (line) => lines.push(JSON.parse(line) as Record<string, any>) })
  const engine = new Engine({ config: validateConfig({ dataDir: dir.path, network: 'devnet', p2p: { host: '127.0.0.1', port: 0, mdns: false } }), logger })
  return { engine, lines }
}

const listenerErrors = async (engine: Engine): Promise<number> => {
  const line = (await engine.metrics.text()).split('\n').find((l) => l.startsWith('bsv_p2p_event_listener_errors_total '))
  return line ? Number(line.split(' ').pop()) : Number.NaN
}

describe('a listener that throws inside the engine', () => {
  it('on the event bus: the others still hear the event; logged once with stack and cause, and counted', async () => {
    const { engine, lines } = engineWithCapturedLog()
    const heard: string[] = []
    engine.events.on('messageDeleted', () => {
      throw new Error('a listener bug', { cause: new RangeError('index 3 out of range') })
    })
    engine.events.on('messageDeleted', (d) => heard.push(d.id))
    engine.events.emit('messageDeleted', { seq: 1, peerId: 'p', id: 'm1' })
    expect(heard).toEqual(['m1'])
    const errors = lines.filter((l) => l.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ msg: 'unexpected error', where: 'event-bus', what: 'messageDeleted', err: { message: 'a listener bug', cause: { name: 'RangeError' } } })
    expect(errors[0]!.err.stack).toContain('engine-unexpected.test.ts')
    expect(await listenerErrors(engine)).toBe(1)
  })

  it('on the chain monitor: reported through the same path, never swallowed', async () => {
    const { engine, lines } = engineWithCapturedLog()
    const heights: (number | null)[] = []
    engine.chainMonitor.onChange(() => {
      throw new TypeError('health view bug')
    })
    engine.chainMonitor.onChange((h) => heights.push(h.height))
    engine.chainMonitor.reportOk(101)
    expect(heights).toEqual([101])
    const errors = lines.filter((l) => l.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ where: 'event-bus', what: 'chain', err: { name: 'TypeError', message: 'health view bug' } })
    expect(errors[0]!.err.stack).toContain('engine-unexpected.test.ts')
    expect(await listenerErrors(engine)).toBe(1)
  })
})
