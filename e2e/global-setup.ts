import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

/** Builds the renderer once; the daemons under test serve it as their web UI. */
export default function globalSetup(): void {
  // The daemons under test check their results and events against the contract: a broken one fails loudly.
  process.env.BSV_P2P_CONTRACT_CHECKS = '1'
  const root = join(import.meta.dirname, '..')
  execFileSync(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' })
}
