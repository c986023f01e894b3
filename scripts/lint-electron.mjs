// Electronegativity over the Electron layer: the main-process code, the preload and the
// page. Runs offline (its translation and release-list fetches are refused by
// offline-guard.mjs) and fails on any finding of medium severity or above.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
const cli = join(dirname(require.resolve('@doyensec/electronegativity/package.json')), 'dist', 'index.js')
const electron = JSON.parse(readFileSync(join(root, 'node_modules', 'electron', 'package.json'), 'utf8')).version

// Only the shipped sources, not their tests (which build fakes that look insecure on purpose).
const stage = mkdtempSync(join(tmpdir(), 'electronegativity-'))
try {
  for (const dir of ['main/electron', 'preload']) {
    for (const name of readdirSync(join(root, dir))) {
      if (name.endsWith('.ts') && !name.endsWith('.test.ts')) cpSync(join(root, dir, name), join(stage, dir, name))
    }
  }
  cpSync(join(root, 'renderer', 'index.html'), join(stage, 'renderer', 'index.html'))
  cpSync(join(root, 'package.json'), join(stage, 'package.json'))
  const out = join(stage, 'findings.csv')
  execFileSync(
    process.execPath,
    ['--import', pathToFileURL(join(root, 'scripts', 'offline-guard.mjs')).href, cli, '-i', stage, '-e', electron, '-r', '-v', 'false', '-x', 'AvailableSecurityFixesGlobalCheck', '-o', out],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LANG: 'en-US' } },
  )
  // Columns: check, severity, confidence, file, location, sample, description, link.
  const all = readFileSync(out, 'utf8').trim().split('\n').slice(1).filter(Boolean)
  const rows = all.filter((row) => /^[A-Z_]+,"(MEDIUM|HIGH|CRITICAL)"/.test(row))
  for (const row of all.filter((r) => !rows.includes(r))) process.stdout.write(`note (below medium): ${row.split(',').slice(0, 5).join(' ')}\n`)
  if (rows.length > 0) {
    process.stderr.write(`Electronegativity: ${rows.length} finding(s) of medium severity or above:\n${rows.join('\n')}\n`)
    process.exitCode = 1
  } else {
    process.stdout.write(`Electronegativity (Electron ${electron}): no findings of medium severity or above.\n`)
  }
} finally {
  rmSync(stage, { recursive: true, force: true })
}
