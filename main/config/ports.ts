import { createServer } from 'node:net'
import { type EngineConfig, type PortKey, requestedPorts } from './schema.js'

export interface BusyPort {
  key: PortKey
  flag: string
  host: string
  port: number
  /** EADDRINUSE (another program has it), EACCES (a privileged port), ... */
  code: string
}

/**
 * The requested ports another program holds now. Asked before anything is written to the
 * data dir, so a start that cannot listen leaves nothing behind; the listeners themselves
 * still check (a port can be taken between this probe and the bind).
 */
export async function busyPorts(config: EngineConfig): Promise<BusyPort[]> {
  const busy: BusyPort[] = []
  for (const p of requestedPorts(config)) {
    const host = p.host === 'localhost' ? '127.0.0.1' : p.host
    const code = await new Promise<string | null>((resolve) => {
      const server = createServer()
      server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
      server.listen({ port: p.port, host, exclusive: true }, () => server.close(() => resolve(null)))
    })
    if (code !== null) busy.push({ ...p, host, code })
  }
  return busy
}

export function describeBusyPort(b: BusyPort): string {
  const why = b.code === 'EADDRINUSE' ? 'is in use by another program' : b.code === 'EACCES' ? 'is not allowed (a privileged port)' : `cannot be used (${b.code})`
  return `${b.flag} ${b.port} (${b.key}) ${why} on ${b.host}`
}
