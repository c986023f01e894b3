import { describe, expect, it } from 'vitest'
import { createLogger } from './logger.js'

/** A logger whose lines the test reads back, parsed. */
function captured(): { lines: Record<string, any>[]; logger: ReturnType<typeof createLogger> } {
  const lines: Record<string, any>[] = []
  return { lines, logger: createLogger({ level: 'debug', sink: (line) => lines.push(JSON.parse(line) as Record<string, any>) }, 'test') }
}

describe('errors in log lines', () => {
  it('keep their stack, code and whole chain of causes', () => {
    const { lines, logger } = captured()
    const root = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' })
    const err = new Error('could not save the message', { cause: new Error('the write failed', { cause: root }) })
    logger.error('failed', { err })
    expect(lines).toHaveLength(1)
    const logged = lines[0]!.err
    expect(logged).toMatchObject({ name: 'Error', message: 'could not save the message', cause: { message: 'the write failed', cause: { message: 'disk I/O error', code: 'SQLITE_IOERR' } } })
    for (const e of [logged, logged.cause, logged.cause.cause]) expect(e.stack).toContain('logger.test.ts')
  })

  it('keep every error of an AggregateError, each with its stack', () => {
    const { lines, logger } = captured()
    logger.error('stop failed', { err: new AggregateError([new TypeError('a'), new RangeError('b')], 'several disposers failed') })
    const logged = lines[0]!.err
    expect(logged).toMatchObject({ name: 'AggregateError', message: 'several disposers failed', errors: [{ name: 'TypeError', message: 'a' }, { name: 'RangeError', message: 'b' }] })
    expect(logged.errors[1].stack).toContain('logger.test.ts')
  })

  it('show a cause that is not an Error as what it is, and stop at a cycle', () => {
    const { lines, logger } = captured()
    const looped = new Error('looped')
    ;(looped as { cause?: unknown }).cause = looped
    logger.error('x', { plain: new Error('outer', { cause: { status: 503, body: 'busy' } }), looped })
    expect(lines[0]!.plain.cause).toBe('{"status":503,"body":"busy"}')
    // Followed a few times, then named: the line stays one line.
    expect(JSON.stringify(lines[0]!.looped).length).toBeLessThan(40_000)
  })

  it('are kept wherever they sit in the fields: inside an object or a list', () => {
    const { lines, logger } = captured()
    logger.warn('some peers failed', { failures: [{ peer: 'p1', err: new Error('refused') }], amount: 5n })
    expect(lines[0]!.failures[0].err).toMatchObject({ message: 'refused' })
    expect(lines[0]!.failures[0].err.stack).toContain('logger.test.ts')
    expect(lines[0]!.amount).toBe('5')
  })

  it('keep a wide AggregateError to a bounded line', () => {
    const { lines, logger } = captured()
    const many = Array.from({ length: 100 }, (_, i) => new AggregateError([new Error(`inner ${i}`)], `outer ${i}`))
    logger.error('x', { err: new AggregateError(many, 'all failed') })
    expect(lines[0]!.err.errors).toHaveLength(5)
    expect(lines[0]!.err.errorsOmitted).toBe(95)
  })
})
