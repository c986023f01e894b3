// Bundles the Electron main process and the preload with esbuild:
//   main/electron/main.ts -> dist/electron/main.js   (ESM, Electron's Node)
//   preload/index.ts      -> dist/preload/index.cjs  (CJS: sandboxed preloads cannot load ESM)
// `--hosts` bundles the headless hosts instead, for plain Node (what `npm run daemon`,
// `relay` and `devnet` run: a bundle starts faster and uses half the memory of a
// transpiling loader):
//   main/daemon/cli.ts -> dist/daemon/cli.js, main/relay/cli.ts -> dist/relay/cli.js,
//   main/chain/devnet/cli.ts -> dist/devnet/cli.js
import { build } from 'esbuild'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const hosts = process.argv.includes('--hosts')

// Native addons and packages that load files relative to themselves stay outside the
// bundle and ship in node_modules (electron-builder packs production dependencies).
const EXTERNAL = ['electron', 'better-sqlite3', 'bindings', 'file-uri-to-path', 'electron-log', 'bufferutil', 'utf-8-validate', '@opentelemetry/api', 'node-datachannel', '@ipshipyard/node-datachannel']

// ESM output still meets CommonJS inside dependencies that call require() on Node
// built-ins; give them a real require.
const REQUIRE_SHIM = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"

const common = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
  absWorkingDir: root,
}

async function buildApp() {
rmSync(join(root, 'dist', 'electron'), { recursive: true, force: true })
rmSync(join(root, 'dist', 'preload'), { recursive: true, force: true })

await build({
  ...common,
  entryPoints: ['main/electron/main.ts'],
  outfile: 'dist/electron/main.js',
  format: 'esm',
  external: EXTERNAL,
  banner: { js: REQUIRE_SHIM },
})

await build({
  ...common,
  entryPoints: ['preload/index.ts'],
  outfile: 'dist/preload/index.cjs',
  format: 'cjs',
  // The sandboxed preload has no Node: a Node built-in pulled in by mistake fails the build.
  platform: 'browser',
  external: ['electron'],
})

}

const HOSTS = [
  ['main/daemon/cli.ts', 'dist/daemon/cli.js'],
  ['main/relay/cli.ts', 'dist/relay/cli.js'],
  ['main/chain/devnet/cli.ts', 'dist/devnet/cli.js'],
]

// Several `npm run daemon|relay|devnet` may start at once, each building while another
// already runs: every file is written beside its target and renamed over it, so a process
// loads either the whole old bundle or the whole new one, never half of one.
async function buildHosts() {
  await Promise.all(
    HOSTS.map(async ([entry, outfile]) => {
      const result = await build({
        ...common,
        entryPoints: [entry],
        outfile,
        format: 'esm',
        target: 'node20',
        external: EXTERNAL.filter((m) => m !== 'electron'),
        banner: { js: REQUIRE_SHIM },
        write: false,
      })
      // The map first: a bundle is never there before the map it points to.
      const files = [...result.outputFiles].sort((a, b) => Number(b.path.endsWith('.map')) - Number(a.path.endsWith('.map')))
      for (const file of files) {
        mkdirSync(dirname(file.path), { recursive: true })
        const tmp = `${file.path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
        writeFileSync(tmp, file.contents)
        renameSync(tmp, file.path)
      }
    }),
  )
}

/** The newest modification time among the files a bundle is built from. */
function newestSource() {
  let newest = 0
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else newest = Math.max(newest, statSync(path).mtimeMs)
    }
  }
  for (const dir of ['main', 'shared']) walk(join(root, dir))
  for (const file of ['scripts/build-main.mjs', 'package.json', 'package-lock.json']) {
    if (existsSync(join(root, file))) newest = Math.max(newest, statSync(join(root, file)).mtimeMs)
  }
  return newest
}

function hostsUpToDate() {
  const outputs = HOSTS.map(([, out]) => join(root, out))
  if (!outputs.every((out) => existsSync(out))) return false
  return Math.min(...outputs.map((out) => statSync(out).mtimeMs)) > newestSource()
}

/**
 * One build at a time: the others wait for it and then find the bundles fresh. A lock whose
 * builder is gone (killed mid-build) is taken over.
 */
async function withHostsLock(fn) {
  const lock = join(root, 'dist', '.hosts.lock')
  mkdirSync(dirname(lock), { recursive: true })
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' })
      break
    } catch (err) {
      if (err.code !== 'EEXIST') throw err
      let holder
      try {
        holder = Number(readFileSync(lock, 'utf8'))
      } catch {
        continue
      }
      // An empty lock is one being written: its holder is alive.
      let alive = true
      try {
        if (holder > 0) process.kill(holder, 0)
      } catch (e) {
        alive = e.code === 'EPERM'
      }
      if (!alive) rmSync(lock, { force: true })
      else await new Promise((r) => setTimeout(r, 100))
    }
  }
  try {
    return await fn()
  } finally {
    rmSync(lock, { force: true })
  }
}

let skipped = false
if (hosts) {
  await withHostsLock(async () => {
    if (hostsUpToDate()) skipped = true
    else await buildHosts()
  })
} else await buildApp()
process.stderr.write(skipped ? 'hosts up to date\n' : `built ${hosts ? HOSTS.map(([, out]) => out).join(', ') : 'dist/electron/main.js, dist/preload/index.cjs'}\n`)
