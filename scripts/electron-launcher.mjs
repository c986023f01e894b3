// The Electron main entry (copied to dist/electron/main.js by `build-main.mjs`): it turns
// on Node's on-disk compile cache (Electron's Node is 22+, where module.enableCompileCache
// exists; the default place is the OS temp dir) before loading the app bundle, so every
// start after the first skips compiling the 4 MB bundle. Where the cache cannot be used
// (an older runtime, a read-only temp dir) the app starts as it would without it.
import module from 'node:module'

module.enableCompileCache?.()
await import('./app.js')
