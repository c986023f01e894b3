import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// The renderer is loaded from files (app:// in Electron, the daemon's web UI), so every
// URL is relative and nothing is inlined: the CSP allows scripts and styles from 'self' only.
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: false,
    modulePreload: { polyfill: false },
    target: 'es2022',
  },
})
