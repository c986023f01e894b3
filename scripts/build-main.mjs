// Bundles the Electron main process and the preload with esbuild:
//   main/electron/main.ts -> dist/electron/main.js   (ESM, Electron's Node)
//   preload/index.ts      -> dist/preload/index.cjs  (CJS: sandboxed preloads cannot load ESM)
// `--hosts` bundles the headless hosts instead, for plain Node (what `npm run daemon`,
// `relay` and `devnet` run: a bundle starts faster and uses half the memory of a
// transpiling loader):
//   main/daemon/cli.ts -> dist/daemon/cli.js, main/relay/cli.ts -> dist/relay/cli.js,
//   main/chain/devnet/cli.ts -> dist/devnet/cli.js
import { build } from 'esbuild'
import { rmSync } from 'node:fs'
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

async function buildHosts() {
  await Promise.all(
    HOSTS.map(([entry, outfile]) =>
      build({
        ...common,
        entryPoints: [entry],
        outfile,
        format: 'esm',
        target: 'node20',
        external: EXTERNAL.filter((m) => m !== 'electron'),
        banner: { js: REQUIRE_SHIM },
      }),
    ),
  )
}

if (hosts) await buildHosts()
else await buildApp()
process.stderr.write(`built ${hosts ? HOSTS.map(([, out]) => out).join(', ') : 'dist/electron/main.js, dist/preload/index.cjs'}\n`)
