// The entry of a bundled host (copied to dist/<host>/cli.js by `build-main.mjs --hosts`).
//
// Most of a host's start is V8 compiling its 4 MB bundle. Node 20 has no module compile
// cache (module.enableCompileCache came in 22.1), but V8's code cache is reachable through
// vm.Script: the bundle is built as CommonJS, compiled here with the cache of an earlier
// start, and run as Node would run a CommonJS module. Without a usable cache (first start,
// new bundle, new Node) it compiles as usual and writes one a few seconds in, once start has
// compiled the functions it needs. The cache is an optimisation only: a cache that cannot be
// read or written changes nothing but the start time, so those failures are not reported.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire, Module } from 'node:module'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import vm from 'node:vm'

const CACHE_AFTER_MS = 3_000
let written = false

const bundle = join(dirname(fileURLToPath(import.meta.url)), 'cli.bundle.cjs')
// The build makes the bundle pure ASCII, so latin1 reads it exactly and without decoding.
const source = readFileSync(bundle, 'latin1')
const cacheFile = codeCachePath()
let cachedData
try {
  cachedData = cacheFile ? readFileSync(cacheFile) : undefined
} catch {
  cachedData = undefined
}
const script = new vm.Script(Module.wrap(source), {
  filename: bundle,
  cachedData,
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
})
if (cacheFile && (!cachedData || script.cachedDataRejected)) {
  // A few seconds in, or at exit if that comes first (a short-lived run still leaves one).
  const timer = setTimeout(writeCodeCache, CACHE_AFTER_MS).unref()
  process.once('exit', () => {
    clearTimeout(timer)
    writeCodeCache()
  })
}

const module = new Module(bundle)
module.filename = bundle
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle))

/** One file per bundle build and runtime: V8 refuses a cache from another source or V8 anyway. */
function codeCachePath() {
  if (process.env.BSV_P2P_CODE_CACHE === 'off') return null
  const base = process.env.BSV_P2P_CODE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'bsv-p2p-wallet', 'code-cache')
  const { size, mtimeMs } = statSync(bundle)
  const host = dirname(bundle).split(/[\\/]/).pop()
  return join(base, `${host}-${process.version}-${process.arch}-${size}-${Math.round(mtimeMs)}.v8`)
}

function writeCodeCache() {
  if (written) return
  written = true
  // Written beside and renamed: many hosts may start at once, and each reads a whole file.
  const tmp = `${cacheFile}.${process.pid}.tmp`
  try {
    mkdirSync(dirname(cacheFile), { recursive: true })
    writeFileSync(tmp, script.createCachedData())
    renameSync(tmp, cacheFile)
  } catch {
    // A read-only or full cache dir: the next start compiles without a cache, as this one did.
    rmSync(tmp, { force: true })
  }
}
