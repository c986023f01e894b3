import { afterAll, describe, expect, it } from 'vitest'
import { firstLine, runEntry, tempDir } from '../../../test/helpers/processes.js'

describe('npm run devnet', () => {
  const dir = tempDir('devnet-cli-')
  afterAll(() => dir.remove())

  it('prints its URL first, serves the APIs, persists to the data dir and exits 0 on SIGTERM', async () => {
    const proc = runEntry('main/chain/devnet/cli.ts', ['--port', '0', '--data-dir', dir.path, '--block-interval-ms', '0', '--log-level', 'warn'])
    try {
      const url = await firstLine(proc, 30_000, false)
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const mined = await fetch(`${url}/devnet/mine`, { method: 'POST', body: JSON.stringify({ blocks: 3 }) })
      expect(await mined.json()).toMatchObject({ height: 3 })
      expect(await proc.kill('SIGTERM')).toBe(0)
    } finally {
      await proc.kill('SIGKILL')
    }
    const again = runEntry('main/chain/devnet/cli.ts', ['--port', '0', '--data-dir', dir.path, '--block-interval-ms', '0', '--log-level', 'warn'])
    try {
      const url = await firstLine(again, 30_000, false)
      const info = (await (await fetch(`${url}/v1/bsv/devnet/chain/info`)).json()) as { blocks: number }
      expect(info.blocks).toBe(3)
      expect(await again.kill('SIGINT')).toBe(0)
    } finally {
      await again.kill('SIGKILL')
    }
  })

  it('refuses bad arguments with exit code 2', async () => {
    const proc = runEntry('main/chain/devnet/cli.ts', ['--port', 'nope'])
    expect(await proc.exited).toBe(2)
    expect(proc.stderrTail()).toMatch(/--port/)
  })
})
