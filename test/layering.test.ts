// `npm run lint:deps` must fail on an import that points up the layers. The repository's own
// .dependency-cruiser.cjs is run on a copy of the sources with one probe file added to a part,
// so the tree being worked on is never touched. The same probe pointing down passes: the
// failure is the upward import's, not a broken configuration's.
import { spawnSync } from 'node:child_process'
import { cpSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, tempDir } from './helpers/processes.js'

const work = tempDir('bsv-p2p-layering-')
afterAll(() => work.remove())

beforeAll(() => {
  for (const entry of ['main', 'shared', 'tsconfig.json', 'package.json', '.dependency-cruiser.cjs']) cpSync(join(ROOT, entry), join(work.path, entry), { recursive: true })
  symlinkSync(join(ROOT, 'node_modules'), join(work.path, 'node_modules'))
})

const PROBES = {
  upward: ['main/contacts/upward-probe.ts', "export { Engine } from '../engine/index.js'\n"],
  deep: ['main/contacts/deep-probe.ts', "export { parseRelayAddress } from '../p2p/relay-address.js'\n"],
  kit: ['main/kit/upward-probe.ts', "export { Store } from '../store/index.js'\n"],
  host: ['main/electron/host-probe.ts', "export { WebUi } from '../daemon/web-ui.js'\n"],
  downward: ['main/contacts/downward-probe.ts', "export { ListenerSet } from '../kit/index.js'\nexport { Store } from '../store/index.js'\n"],
} as const

/** One depcruise run over the probes alone (their own imports, not their targets'), with the repository's rules. */
let result: { status: number | null; output: string }

beforeAll(() => {
  for (const [path, source] of Object.values(PROBES)) writeFileSync(join(work.path, path), source)
  const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'depcruise'), [...Object.values(PROBES).map(([path]) => path), '--config', '.dependency-cruiser.cjs', '--max-depth', '1', '--output-type', 'err'], {
    cwd: work.path,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: '1' },
  })
  result = { status: r.status, output: `${r.stdout}${r.stderr}` }
})

describe('the layering check', () => {
  it('fails the run', () => {
    expect(result.output).toMatch(/\d+ dependency violations/)
    expect(result.status).not.toBe(0)
  })

  it('names a part importing the engine', () => {
    expect(result.output).toMatch(/parts-never-import-up: main\/contacts\/upward-probe\.ts → main\/engine\/index\.ts/)
  })

  it('names a deep import into another part', () => {
    expect(result.output).toMatch(/parts-entered-through-index: main\/contacts\/deep-probe\.ts → main\/p2p\/relay-address\.ts/)
  })

  it('names the low layer importing a part', () => {
    expect(result.output).toMatch(/kit-imports-only-shared: main\/kit\/upward-probe\.ts → main\/store\/index\.ts/)
  })

  it('names a host importing another host', () => {
    expect(result.output).toMatch(/hosts-never-import-each-other: main\/electron\/host-probe\.ts → main\/daemon\/web-ui\.ts/)
  })

  it('passes imports that point down, through the low layer and a barrel', () => {
    expect(result.output).not.toContain('downward-probe')
  })
})
