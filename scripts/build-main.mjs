// Bundles the Electron main process and the preload with esbuild:
//   main/electron/main.ts -> dist/electron/app.js    (ESM, Electron's Node), entered through
//                              dist/electron/main.js (scripts/electron-launcher.mjs: compile cache)
//   preload/index.ts      -> dist/preload/index.cjs  (CJS: sandboxed preloads cannot load ESM)
// `--hosts` bundles the headless hosts instead, for plain Node (what `npm run daemon`,
// `relay` and `devnet` run: a bundle starts faster and uses half the memory of a
// transpiling loader):
//   main/daemon/cli.ts -> dist/daemon/cli.bundle.cjs, main/relay/cli.ts -> dist/relay/...,
//   main/chain/devnet/cli.ts -> dist/devnet/...
// each beside its entry dist/<host>/cli.js, scripts/host-launcher.mjs, which runs the bundle
// through V8's code cache (CommonJS, so vm.Script can take the cache).
// Beside the daemon's and the app's bundle: sqlite-worker.cjs, the worker thread that runs
// backups and database checks (main/store/sqlite-worker.ts).
import { build } from 'esbuild'
import { randomBytes } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const hosts = process.argv.includes('--hosts')

// Native addons and packages that load files relative to themselves stay outside the
// bundle and ship in node_modules (electron-builder packs production dependencies).
const EXTERNAL = ['electron', 'better-sqlite3', 'bindings', 'file-uri-to-path', 'electron-log', 'bufferutil', 'utf-8-validate', 'node-datachannel', '@ipshipyard/node-datachannel']

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
  outfile: 'dist/electron/app.js',
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

await build(sqliteWorker('dist/electron/sqlite-worker.cjs'))

copyFileSync(join(root, 'scripts', 'electron-launcher.mjs'), join(root, 'dist', 'electron', 'main.js'))
}

/**
 * The worker thread's bundle. better-sqlite3's JavaScript is inside: in the app the worker
 * runs from the unpacked copy beside the archive, where node_modules cannot be reached; its
 * native part is always named by path.
 */
function sqliteWorker(outfile) {
  return {
    ...common,
    entryPoints: ['main/store/sqlite-worker.ts'],
    outfile,
    format: 'cjs',
    target: 'node20',
    external: EXTERNAL.filter((m) => m !== 'better-sqlite3'),
    define: { 'import.meta.url': '__bundleUrl', 'import.meta.dirname': '__dirname', 'import.meta.filename': '__filename' },
    banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  }
}

const HOSTS = [
  ['main/daemon/cli.ts', 'dist/daemon/cli.js'],
  ['main/relay/cli.ts', 'dist/relay/cli.js'],
  ['main/chain/devnet/cli.ts', 'dist/devnet/cli.js'],
]
const LAUNCHER = join(root, 'scripts', 'host-launcher.mjs')
/** The daemon runs the engine, whose backups and checks run in this worker beside its bundle. */
const DAEMON_WORKER = 'dist/daemon/sqlite-worker.cjs'
const bundleOf = (entryFile) => join(dirname(entryFile), 'cli.bundle.cjs')

// Several `npm run daemon|relay|devnet` may start at once, each building while another
// already runs: every file is written beside its target and renamed over it, so a process
// loads either the whole old bundle or the whole new one, never half of one.
async function buildHosts() {
  const worker = await build({ ...sqliteWorker(DAEMON_WORKER), write: false })
  await Promise.all(
    HOSTS.map(async ([entry, outfile]) => {
      const result = await build({
        ...common,
        entryPoints: [entry],
        outfile: bundleOf(outfile),
        format: 'cjs',
        target: 'node20',
        // ASCII in, one-byte string out: a bundle with any other character is decoded the slow
        // way (55 ms of every start here). esbuild escapes most; asciiOnly() below the rest.
        charset: 'ascii',
        // electron-log stays outside the app's bundle (its Electron part finds files beside
        // itself); the hosts use only its Node part, and a bundled copy is in the code cache
        // (16 ms of a 200 ms restart when it was loaded from node_modules).
        // better-sqlite3's JavaScript too: openSqlite names its build by path (main/store/sqlite.ts).
        external: EXTERNAL.filter((m) => m !== 'electron' && m !== 'electron-log' && m !== 'better-sqlite3'),
        // The sources are ESM: what they ask of import.meta, the CommonJS bundle answers
        // for itself (it lives where the ESM bundle did, so paths resolve the same).
        define: { 'import.meta.url': '__bundleUrl', 'import.meta.dirname': '__dirname', 'import.meta.filename': '__filename' },
        banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
        write: false,
      })
      // The map first, the launcher last: nothing is there before what it points to.
      const files = [...result.outputFiles].sort((a, b) => Number(b.path.endsWith('.map')) - Number(a.path.endsWith('.map')))
      for (const file of files) if (file.path.endsWith('.cjs')) Object.defineProperty(file, 'contents', { value: asciiOnly(file.contents) })
      if (join(root, DAEMON_WORKER).startsWith(dirname(join(root, outfile)))) files.unshift(...worker.outputFiles)
      files.push({ path: join(root, outfile), contents: readFileSync(LAUNCHER) })
      // The map of the ESM bundle that lived at the launcher's path before.
      rmSync(join(root, `${outfile}.map`), { force: true })
      for (const file of files) {
        mkdirSync(dirname(file.path), { recursive: true })
        const tmp = `${file.path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
        writeFileSync(tmp, file.contents)
        renameSync(tmp, file.path)
      }
    }),
  )
}

/**
 * The bundle as pure ASCII (the launcher reads it as latin1). `charset: 'ascii'` leaves a
 * few characters where esbuild does not rewrite (regular expression literals, comments):
 * each UTF-16 unit becomes its \u escape, which means the same there, in a string and in an
 * identifier.
 */
function asciiOnly(bytes) {
  const unit = (code) => `\\u${code.toString(16).padStart(4, '0')}`
  // A character beyond the BMP matches whole here and is written as its two surrogates.
  const text = Buffer.from(bytes).toString('utf8').replace(/[^\p{ASCII}]/gu, (c) => [...Array(c.length).keys()].map((i) => unit(c.charCodeAt(i))).join(''))
  return Buffer.from(text, 'latin1')
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
  for (const file of ['scripts/build-main.mjs', 'scripts/host-launcher.mjs', 'package.json', 'package-lock.json']) {
    if (existsSync(join(root, file))) newest = Math.max(newest, statSync(join(root, file)).mtimeMs)
  }
  return newest
}

function hostsUpToDate() {
  const outputs = [...HOSTS.flatMap(([, out]) => [join(root, out), bundleOf(join(root, out))]), join(root, DAEMON_WORKER)]
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
process.stderr.write(skipped ? 'hosts up to date\n' : `built ${hosts ? HOSTS.map(([, out]) => out).join(', ') : 'dist/electron/main.js + app.js, dist/preload/index.cjs'}\n`)
