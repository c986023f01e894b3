// Prepares better-sqlite3 for the Electron app in a place of its own,
//   native/electron-<platform>-<arch>/better_sqlite3.node
// which the app's main process loads through better-sqlite3's `nativeBinding` option and
// electron-builder packs as an extra resource. node_modules/better-sqlite3/build is Node's
// and stays Node's: `npm test` and `npm run daemon` keep working whatever ran before.
//
// One `.node` file serves one ABI (NODE_MODULE_VERSION: Node 20 is 115, Electron 45 is
// 150). The file comes from, in order:
//   1. better-sqlite3's prebuilt binary for that Electron (prebuild-install, from its
//      GitHub releases; a mirror via npm_config_better_sqlite3_binary_host);
//   2. a build from source with node-gyp against Electron's headers (--dist-url).
// Each runs in a temporary copy of the package, so nothing under node_modules changes.
// Nothing is done when the file is there and its header names the right ABI, format and
// CPU (read by native-abi.mjs). Where neither source can be reached it says so in one
// sentence and exits 1.
//
//   node scripts/electron-native.mjs [--electron <version>] [--platform <p>] [--arch <a>]
//        [--out-dir <dir>] [--dist-url <url>] [--print-path] [--verbose]
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { PLATFORM_FORMAT, readNativeModule } from './native-abi.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(join(root, 'package.json'))
const FILE = 'better_sqlite3.node'
const DEFAULT_DIST_URL = 'https://electronjs.org/headers'
const DOWNLOAD_TIMEOUT_MS = 5 * 60_000
const BUILD_TIMEOUT_MS = 20 * 60_000
// What a build from source needs of the package (its files list, without the Node build).
const PACKAGE_PARTS = ['package.json', 'binding.gyp', 'lib', 'src', 'deps']

class Refusal extends Error {}

const { values: opts } = parseArgs({
  options: {
    electron: { type: 'string' },
    platform: { type: 'string', default: process.platform },
    arch: { type: 'string', default: process.arch },
    'out-dir': { type: 'string', default: join(root, 'native') },
    'dist-url': { type: 'string', default: DEFAULT_DIST_URL },
    'print-path': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
})

const say = (line) => process.stdout.write(`${line}\n`)
const shown = (file) => (relative(root, file).startsWith('..') ? file : relative(root, file))

function electronTarget() {
  const pkgFile = require.resolve('electron/package.json')
  const installed = JSON.parse(readFileSync(pkgFile, 'utf8')).version
  const version = opts.electron ?? installed
  // The electron package names its own ABI; another version's comes from node-abi's table.
  const abiFile = join(dirname(pkgFile), 'abi_version')
  if (version === installed && existsSync(abiFile)) return { version, abi: Number(readFileSync(abiFile, 'utf8').trim()) }
  try {
    const nodeAbi = createRequire(require.resolve('prebuild-install/package.json'))('node-abi')
    return { version, abi: Number(nodeAbi.getAbi(version, 'electron')) }
  } catch (err) {
    throw new Refusal(`Cannot tell which ABI Electron ${version} has (${err.message}).`)
  }
}

function hashOf(file) {
  return existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : null
}

/** Why a file is not the one wanted, or null when it is. */
function mismatch(file, want) {
  let got
  try {
    got = readNativeModule(file)
  } catch (err) {
    return err.message
  }
  if (got.abi !== want.abi) return `it names ABI ${got.abi ?? 'none'}, not ${want.abi}`
  if (got.format !== want.format) return `it is ${got.format}, not ${want.format}`
  if (got.arch !== want.arch && got.arch !== 'universal') return `it is for ${got.arch ?? 'an unknown CPU'}, not ${want.arch}`
  return null
}

// npm's `-s` reaches the tools as npm_config_loglevel=silent, and their reasons with it.
const QUIETING = ['npm_config_loglevel']

function run(args, cwd, timeout, env = {}, without = []) {
  const dropped = [...QUIETING, ...without]
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !dropped.includes(key.toLowerCase())))
  const result = spawnSync(process.execPath, args, {
    cwd,
    timeout,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...inherited, ...env },
    stdio: opts.verbose ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
  })
  const output = opts.verbose ? '' : `${result.stdout ?? ''}\n${result.stderr ?? ''}`
  if (result.error?.code === 'ETIMEDOUT') return { ok: false, output, timedOut: true }
  return { ok: result.status === 0, output, timedOut: false }
}

/** The one line of a tool's output that says why it failed. */
function reasonFrom(output, fallback) {
  if (opts.verbose) return `${fallback}, as shown above`
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean)
  const download = lines.find((l) => /^gyp http GET /.test(l))
  if (download && /network connectivity|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|404/i.test(output)) return `cannot download ${download.replace(/^gyp http GET /, '')}`
  const warn = lines.findLast((l) => /^prebuild-install (warn|error|ERR!)/.test(l))
  if (warn) return warn.replace(/^prebuild-install (warn|error|ERR!) (install )?/, '')
  const gyp = lines.find((l) => /^gyp ERR! stack Error: /.test(l)) ?? lines.findLast((l) => /^gyp ERR! /.test(l))
  if (gyp) return gyp.replace(/^gyp ERR! (stack )?(Error: )?/, '')
  return fallback
}

function prebuilt(work, target, want) {
  const bin = require.resolve('prebuild-install/bin.js')
  const args = [bin, '--runtime', 'electron', '--target', target.version, '--platform', want.platform, '--arch', want.arch, '--verbose']
  const r = run(args, work, DOWNLOAD_TIMEOUT_MS)
  if (r.timedOut) return { reason: 'the download timed out' }
  if (!r.ok) return { reason: reasonFrom(r.output, 'prebuild-install failed') }
  return { file: join(work, 'build', 'Release', FILE) }
}

function fromSource(work, target, want) {
  if (want.platform !== process.platform) return { reason: `a build from source for ${want.platform} needs a ${want.platform} machine` }
  let bin
  try {
    bin = require.resolve('node-gyp/bin/node-gyp.js')
  } catch {
    bin = process.env.npm_config_node_gyp
  }
  if (!bin) return { reason: 'node-gyp is not installed' }
  const args = [bin, 'rebuild', '--release', `--target=${target.version}`, `--arch=${want.arch}`, `--dist-url=${opts['dist-url']}`, '--jobs=max']
  // As Electron's guide sets them, for any part of the build that reads npm's config. A
  // `nodedir` in npm's config (Debian's npm sets /usr) would make node-gyp build against
  // this Node's headers whatever the target, so npm's copy of it is not passed on.
  const env = { npm_config_runtime: 'electron', npm_config_target: target.version, npm_config_disturl: opts['dist-url'] }
  const r = run(args, work, BUILD_TIMEOUT_MS, env, ['npm_config_nodedir'])
  if (r.timedOut) return { reason: 'the build timed out' }
  if (!r.ok) return { reason: reasonFrom(r.output, 'node-gyp failed') }
  return { file: join(work, 'build', 'Release', FILE) }
}

/** Where prebuild-install looks: better-sqlite3's GitHub releases, or the mirror npm's config names. */
function binaryHost() {
  const mirror = process.env.npm_config_better_sqlite3_binary_host ?? process.env.npm_config_better_sqlite3_binary_host_mirror
  try {
    return mirror ? new URL(mirror).host : 'github.com'
  } catch {
    return mirror
  }
}

function install(file, dest) {
  mkdirSync(dirname(dest), { recursive: true })
  const partial = `${dest}.partial-${process.pid}`
  copyFileSync(file, partial)
  renameSync(partial, dest)
}

function main() {
  const want = { platform: opts.platform, arch: opts.arch, format: PLATFORM_FORMAT[opts.platform] }
  if (!want.format) throw new Refusal(`Electron does not run on the platform "${opts.platform}" (use linux, darwin or win32).`)
  let headersHost
  try {
    headersHost = new URL(opts['dist-url']).host
  } catch {
    throw new Refusal(`--dist-url must be a URL (got "${opts['dist-url']}").`)
  }
  const dest = join(opts['out-dir'], `electron-${want.platform}-${want.arch}`, FILE)
  if (opts['print-path']) return say(dest)
  const target = electronTarget()
  want.abi = target.abi
  const label = `Electron ${target.version} (ABI ${target.abi}, ${want.platform}-${want.arch})`
  if (existsSync(dest) && mismatch(dest, want) === null) return say(`better-sqlite3 for ${label} is ready: ${shown(dest)}`)

  const pkgDir = dirname(require.resolve('better-sqlite3/package.json'))
  const nodeBuild = join(pkgDir, 'build', 'Release', FILE)
  const nodeBefore = hashOf(nodeBuild)
  const scratch = mkdtempSync(join(tmpdir(), 'electron-native-'))
  try {
    const work = join(scratch, 'better-sqlite3')
    for (const part of PACKAGE_PARTS) if (existsSync(join(pkgDir, part))) cpSync(join(pkgDir, part), join(work, part), { recursive: true })
    say(`preparing better-sqlite3 for ${label}`)
    const failures = []
    for (const [how, attempt] of [
      ['no prebuilt binary', prebuilt],
      ['no build from source', fromSource],
    ]) {
      const got = attempt(work, target, want)
      const wrong = got.file && (existsSync(got.file) ? mismatch(got.file, want) : 'it was not written')
      if (got.file && !wrong) {
        install(got.file, dest)
        return say(`better-sqlite3 for ${label} is ready: ${shown(dest)}`)
      }
      failures.push(`${how} (${got.reason ?? `the file it gave is not right: ${wrong}`})`)
      rmSync(join(work, 'build'), { recursive: true, force: true })
    }
    throw new Refusal(
      `Cannot prepare better-sqlite3 for ${label}: ${failures.join(' and ')}; ` +
        `run \`npm run native:electron\` again where ${binaryHost()} (prebuilt binaries) or ${headersHost} (Electron's headers) can be reached, adding \`-- --verbose\` to see the tools' output.`,
    )
  } finally {
    rmSync(scratch, { recursive: true, force: true })
    // The promise of this script; checked, not assumed.
    if (hashOf(nodeBuild) !== nodeBefore) {
      process.stderr.write(`BUG: ${nodeBuild} (Node's build) changed while preparing Electron's; reinstall better-sqlite3 (npm rebuild better-sqlite3).\n`)
      process.exitCode = 1
    }
  }
}

try {
  main()
} catch (err) {
  if (!(err instanceof Refusal)) throw err
  process.stderr.write(`${err.message}\n`)
  process.exitCode = 1
}
