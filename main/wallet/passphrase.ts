import { readFileSync, statSync } from 'node:fs'

/** Environment variable the daemon reads the wallet passphrase from (after --passphrase-file). */
const PASSPHRASE_ENV = 'BSV_P2P_PASSPHRASE'

export class PassphraseSourceError extends Error {
  override readonly name = 'PassphraseSourceError'
}

/**
 * The daemon's wallet passphrase: from a file (first line; the file must not be readable
 * by group or others), else from the environment, else none. Never from config or argv.
 */
export function loadPassphrase(opts: { file?: string; env?: NodeJS.ProcessEnv }): string | undefined {
  if (opts.file) {
    let text: string
    try {
      const mode = statSync(opts.file).mode
      if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
        throw new PassphraseSourceError(`${opts.file} is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`)
      }
      text = readFileSync(opts.file, 'utf8')
    } catch (err) {
      if (err instanceof PassphraseSourceError) throw err
      throw new PassphraseSourceError(`cannot read the passphrase file ${opts.file}: ${(err as Error).message}`)
    }
    const line = text.split(/\r?\n/)[0] ?? ''
    if (line.length === 0) throw new PassphraseSourceError(`the passphrase file ${opts.file} is empty`)
    return line
  }
  const fromEnv = (opts.env ?? process.env)[PASSPHRASE_ENV]
  return fromEnv && fromEnv.length > 0 ? fromEnv : undefined
}
