// `npm run test:unit` and `npm run test:integration` together run every test file, each once:
// asked of vitest itself, as it resolves the projects of vitest.config.ts.
import { existsSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createVitest } from 'vitest/node'
import config from '../vitest.config.js'
import { ROOT } from './helpers/processes.js'

/** Every file named like a test, wherever it is (a file no project includes would never run). */
function testFilesOnDisk(dir = ROOT): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', '.git', 'release'].includes(entry.name)) continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...testFilesOnDisk(path))
    else if (/\.test\.tsx?$/.test(entry.name)) out.push(relative(ROOT, path))
  }
  return out.sort()
}

describe('the test sets', () => {
  it('put every test file in exactly one of unit and integration', async () => {
    const vitest = await createVitest('test', { config: join(ROOT, 'vitest.config.ts'), root: ROOT, watch: false })
    try {
      const specs = await vitest.globTestSpecifications()
      const projectsOf = new Map<string, string[]>()
      for (const spec of specs) {
        const file = relative(ROOT, spec.moduleId)
        projectsOf.set(file, [...(projectsOf.get(file) ?? []), spec.project.name])
      }
      const onDisk = testFilesOnDisk()
      expect(onDisk.length).toBeGreaterThan(50)
      expect(onDisk.filter((f) => projectsOf.get(f)?.length !== 1).map((f) => `${f}: ${projectsOf.get(f)?.join(', ') ?? 'none'}`)).toEqual([])
      expect([...new Set(specs.map((s) => s.project.name))].sort()).toEqual(['integration', 'unit'])
      // A file named in the integration list and then renamed would quietly become a unit test.
      const integration = config.test?.projects?.find((p) => typeof p === 'object' && 'test' in p && p.test?.name === 'integration')
      const named = ((integration as { test?: { include?: string[] } } | undefined)?.test?.include ?? []).filter((f) => !f.includes('*'))
      expect(named.length).toBeGreaterThan(0)
      expect(named.filter((f) => !existsSync(join(ROOT, f)))).toEqual([])
    } finally {
      await vitest.close()
    }
  })
})
