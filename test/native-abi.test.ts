// The two native builds of better-sqlite3: Node's in node_modules, Electron's beside it in
// native/. The ABI of each is read from its header (node_register_module_v<N>), and
// `npm run native:electron` (which `npm start` and `npm run dist` run first) never
// touches Node's build, whatever it manages to do.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { PLATFORM_FORMAT, readNativeModule, readNodeAbi } from '../scripts/native-abi.mjs'
import { ROOT, freePort, tempDir } from './helpers/processes.js'

const require = createRequire(import.meta.url)
const NODE_BUILD = join(require.resolve('better-sqlite3/package.json'), '..', 'build', 'Release', 'better_sqlite3.node')
const ELECTRON = JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8')) as { version: string }
const ELECTRON_ABI = Number(readFileSync(join(require.resolve('electron/package.json'), '..', 'abi_version'), 'utf8'))
const SCRIPT = join(ROOT, 'scripts', 'electron-native.mjs')

const work = tempDir('bsv-p2p-native-abi-')
afterAll(() => work.remove())

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex')

const MACHINES = {
  elf: { x64: 0x3e, arm64: 0xb7, ia32: 0x03 },
  'mach-o': { x64: 0x01000007, arm64: 0x0100000c },
  pe: { x64: 0x8664, arm64: 0xaa64, ia32: 0x014c },
} as const

/** The header of a `.node` file of each format, and the entry point symbol a real addon exports. */
function fakeAddon(format: 'elf' | 'mach-o' | 'pe', arch: 'x64' | 'arm64', symbols: string[]): Buffer {
  const head = Buffer.alloc(0x80)
  if (format === 'elf') {
    head.writeUInt32BE(0x7f454c46, 0)
    head[4] = 2
    head[5] = 1
    head.writeUInt16LE(MACHINES.elf[arch], 18)
  } else if (format === 'mach-o') {
    head.writeUInt32LE(0xfeedfacf, 0)
    head.writeUInt32LE(MACHINES['mach-o'][arch], 4)
  } else {
    head.write('MZ', 0, 'latin1')
    head.writeUInt32LE(0x40, 0x3c)
    head.write('PE\0\0', 0x40, 'latin1')
    head.writeUInt16LE(MACHINES.pe[arch], 0x44)
  }
  return Buffer.concat([head, ...symbols.map((s) => Buffer.from(`${s}\0`, 'latin1'))])
}

function fixture(name: string, bytes: Buffer): string {
  const file = join(work.path, 'fixtures', name)
  mkdirSync(join(file, '..'), { recursive: true })
  writeFileSync(file, bytes)
  return file
}

/** Both sources of the prepare script pointed at a closed local port, and its caches empty. */
async function unreachable(): Promise<{ url: string; env: NodeJS.ProcessEnv }> {
  const url = `http://127.0.0.1:${await freePort()}`
  return { url, env: { ...process.env, npm_config_better_sqlite3_binary_host: url, npm_config_devdir: join(work.path, 'gyp-devdir'), npm_config_cache: join(work.path, 'npm-cache'), npm_config_update_notifier: 'false' } }
}

async function prepare(outDir: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const closed = await unreachable()
  const r = spawnSync(process.execPath, [SCRIPT, '--out-dir', outDir, '--dist-url', `${closed.url}/headers`], { encoding: 'utf8', timeout: 120_000, env: closed.env })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** A mirror of better-sqlite3's releases, as `npm_config_better_sqlite3_binary_host` names one, serving one tarball. */
async function mirrorServing(addon: Buffer): Promise<{ url: string; asked: string[]; close: () => Promise<void> }> {
  const pkg = JSON.parse(readFileSync(require.resolve('better-sqlite3/package.json'), 'utf8')) as { version: string }
  const stage = join(work.path, `prebuilt-${createHash('sha256').update(addon).digest('hex').slice(0, 8)}`)
  mkdirSync(join(stage, 'build', 'Release'), { recursive: true })
  writeFileSync(join(stage, 'build', 'Release', 'better_sqlite3.node'), addon)
  const name = `better-sqlite3-v${pkg.version}-electron-v${ELECTRON_ABI}-${process.platform}-${process.arch}.tar.gz`
  execFileSync('tar', ['-czf', join(stage, name), '-C', stage, 'build'])
  const tarball = readFileSync(join(stage, name))
  const asked: string[] = []
  const server = createServer((req, res) => {
    asked.push(req.url ?? '')
    if (req.url === `/v${pkg.version}/${name}`) res.writeHead(200, { 'content-type': 'application/gzip' }).end(tarball)
    else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, asked, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

/** The prepare script run asynchronously (the mirror above answers from this process). */
function prepareFrom(mirror: string, outDir: string, closedHeaders: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [SCRIPT, '--out-dir', outDir, '--dist-url', `${closedHeaders}/headers`], {
    env: { ...process.env, npm_config_better_sqlite3_binary_host: mirror, npm_config_devdir: join(work.path, 'gyp-devdir'), npm_config_cache: join(work.path, `npm-cache-${Date.now()}`) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })))
}

/** What the npm scripts run from: a copy of package.json and scripts/, with the real node_modules. */
function projectCopy(name: string): string {
  const dir = join(work.path, name)
  mkdirSync(dir)
  for (const part of ['package.json', 'scripts']) cpSync(join(ROOT, part), join(dir, part), { recursive: true })
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  return dir
}

describe('the ABI of a .node file, read from its header', () => {
  it("Node's build of better-sqlite3 names this Node's ABI, format and CPU", () => {
    expect(readNodeAbi(NODE_BUILD)).toBe(Number(process.versions.modules))
    expect(readNativeModule(NODE_BUILD)).toMatchObject({ abi: 115, format: PLATFORM_FORMAT[process.platform as 'linux'], arch: process.arch })
  })

  it('an addon built for another runtime names its ABI, in each file format', () => {
    expect(readNodeAbi(fixture('electron-140.node', fakeAddon('elf', 'x64', ['napi_module_register', 'node_register_module_v140'])))).toBe(140)
    expect(readNativeModule(fixture('mac.node', fakeAddon('mach-o', 'arm64', ['_node_register_module_v150'])))).toMatchObject({ format: 'mach-o', arch: 'arm64', abi: 150 })
    expect(readNativeModule(fixture('win.node', fakeAddon('pe', 'x64', ['node_register_module_v150'])))).toMatchObject({ format: 'pe', arch: 'x64', abi: 150 })
  })

  it('an N-API addon or a file that is no addon names none; one that names two is refused', () => {
    expect(readNodeAbi(fixture('napi.node', fakeAddon('elf', 'arm64', ['napi_register_module_v1'])))).toBeNull()
    expect(readNativeModule(fixture('text.node', Buffer.from('not a library')))).toEqual({ file: join(work.path, 'fixtures', 'text.node'), format: 'unknown', arch: null, abi: null })
    expect(() => readNodeAbi(fixture('two.node', fakeAddon('elf', 'x64', ['node_register_module_v115', 'node_register_module_v150'])))).toThrow(/several Node ABIs \(115, 150\)/)
  })
})

describe('npm run native:electron', () => {
  it('where no prebuilt binary and no headers can be had: one sentence, exit 1, nothing written, Node’s build byte for byte the same', async () => {
    const before = sha256(NODE_BUILD)
    const outDir = join(work.path, 'out-unreachable')
    const r = await prepare(outDir)
    expect(r.status).toBe(1)
    const message = r.stderr.trim()
    expect(message.split('\n')).toHaveLength(1)
    const version = ELECTRON.version.replace(/\./g, '\\.')
    expect(message).toMatch(
      new RegExp(`^Cannot prepare better-sqlite3 for Electron ${version} \\(ABI ${ELECTRON_ABI}, ${process.platform}-${process.arch}\\): no prebuilt binary \\(.*ECONNREFUSED.*\\) and no build from source \\(cannot download http://127\\.0\\.0\\.1:\\d+/headers/v${version}/`),
    )
    expect(message).not.toMatch(/^\s+at /m)
    expect(existsSync(outDir) ? readdirSync(outDir, { recursive: true }).filter((f) => String(f).endsWith('.node')) : []).toEqual([])
    expect(sha256(NODE_BUILD)).toBe(before)
    expect(readNodeAbi(NODE_BUILD)).toBe(Number(process.versions.modules))
  }, 150_000)

  it('from a prebuilt binary for Electron: downloaded, checked, put in its own place, and found ready the next time', async () => {
    const before = sha256(NODE_BUILD)
    const addon = fakeAddon(PLATFORM_FORMAT[process.platform as 'linux'], process.arch as 'x64', [`node_register_module_v${ELECTRON_ABI}`])
    const mirror = await mirrorServing(addon)
    try {
      const outDir = join(work.path, 'out-prebuilt')
      const closed = `http://127.0.0.1:${await freePort()}`
      const first = await prepareFrom(mirror.url, outDir, closed)
      expect(first.stderr).toBe('')
      expect(first.status).toBe(0)
      const file = join(outDir, `electron-${process.platform}-${process.arch}`, 'better_sqlite3.node')
      expect(readFileSync(file)).toEqual(addon)
      expect(readNodeAbi(file)).toBe(ELECTRON_ABI)
      expect(mirror.asked).toHaveLength(1)
      const again = await prepareFrom(mirror.url, outDir, closed)
      expect(again.status).toBe(0)
      expect(again.stdout).toMatch(/is ready/)
      expect(mirror.asked).toHaveLength(1)
      expect(sha256(NODE_BUILD)).toBe(before)
    } finally {
      await mirror.close()
    }
  })

  it('a prebuilt binary for the wrong ABI is refused, not installed', async () => {
    const mirror = await mirrorServing(readFileSync(NODE_BUILD))
    try {
      const outDir = join(work.path, 'out-wrong-prebuilt')
      const r = await prepareFrom(mirror.url, outDir, `http://127.0.0.1:${await freePort()}`)
      expect(r.status).toBe(1)
      expect(r.stderr).toMatch(new RegExp(`no prebuilt binary \\(the file it gave is not right: it names ABI ${process.versions.modules}, not ${ELECTRON_ABI}\\)`))
      expect(existsSync(join(outDir, `electron-${process.platform}-${process.arch}`, 'better_sqlite3.node'))).toBe(false)
    } finally {
      await mirror.close()
    }
  }, 150_000)

  it('with an Electron build already there (its header names Electron’s ABI): nothing to do, nothing fetched', async () => {
    const format = PLATFORM_FORMAT[process.platform as 'linux']
    const outDir = join(work.path, 'out-ready')
    const file = join(outDir, `electron-${process.platform}-${process.arch}`, 'better_sqlite3.node')
    mkdirSync(join(file, '..'), { recursive: true })
    writeFileSync(file, fakeAddon(format, process.arch as 'x64', [`node_register_module_v${ELECTRON_ABI}`]))
    const before = sha256(file)
    const r = await prepare(outDir)
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(r.stdout).toContain(`better-sqlite3 for Electron ${ELECTRON.version} (ABI ${ELECTRON_ABI}, ${process.platform}-${process.arch}) is ready`)
    expect(sha256(file)).toBe(before)
  })

  it('with Node’s build copied there by mistake (ABI 115): not taken as ready', async () => {
    const outDir = join(work.path, 'out-stale')
    const file = join(outDir, `electron-${process.platform}-${process.arch}`, 'better_sqlite3.node')
    mkdirSync(join(file, '..'), { recursive: true })
    writeFileSync(file, readFileSync(NODE_BUILD))
    const r = await prepare(outDir)
    expect(r.status).toBe(1)
    expect(r.stdout).toContain('preparing better-sqlite3 for Electron')
    expect(r.stderr).toMatch(/^Cannot prepare better-sqlite3/)
  }, 150_000)

  for (const script of ['start', 'dist']) {
    it(`\`npm ${script === 'start' ? 'start' : 'run dist'}\` runs it first: where it cannot succeed, it stops there (nothing built, Electron not started) and Node’s build is untouched`, async () => {
      const before = sha256(NODE_BUILD)
      const project = projectCopy(`project-${script}`)
      const closed = await unreachable()
      // The headers' mirror, as a user behind one would set it; the script's default is electronjs.org.
      const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
      pkg.scripts['native:electron'] = `${pkg.scripts['native:electron']} --dist-url ${closed.url}/headers`
      writeFileSync(join(project, 'package.json'), JSON.stringify(pkg))
      const r = spawnSync('npm', ['run', '-s', script], { cwd: project, encoding: 'utf8', timeout: 120_000, env: closed.env })
      expect(r.status).not.toBe(0)
      expect(r.stderr).toMatch(/^Cannot prepare better-sqlite3 for Electron .+; run `npm run native:electron` again/m)
      expect(existsSync(join(project, 'dist'))).toBe(false)
      expect(existsSync(join(project, 'native'))).toBe(false)
      expect(sha256(NODE_BUILD)).toBe(before)
    }, 150_000)
  }
})
