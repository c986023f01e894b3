// A TCP proxy on 127.0.0.1 that the partition scenario cuts and heals: every accepted
// socket is piped to the target; cut() destroys every piped pair and refuses (destroys at
// once) whatever connects until heal().
import { type Server, type Socket, connect, createServer } from 'node:net'

export interface ProxyStats {
  accepted: number
  refused: number
  cutSockets: number
}

export class TcpProxy {
  private server: Server | null = null
  private readonly pairs = new Set<[Socket, Socket]>()
  private isCut = false
  readonly stats: ProxyStats = { accepted: 0, refused: 0, cutSockets: 0 }
  port = 0

  constructor(
    private readonly targetPort: number,
    private readonly targetHost = '127.0.0.1',
  ) {}

  /** Listen on `port` (0: any free one) on 127.0.0.1; resolves with the port. */
  async listen(port = 0): Promise<number> {
    const server = (this.server = createServer((client) => this.accept(client)))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    this.port = (server.address() as { port: number }).port
    return this.port
  }

  get severed(): boolean {
    return this.isCut
  }

  /** Destroy every piped connection and refuse new ones until heal(). */
  cut(): void {
    this.isCut = true
    for (const [a, b] of this.pairs) {
      this.stats.cutSockets++
      a.destroy()
      b.destroy()
    }
    this.pairs.clear()
  }

  heal(): void {
    this.isCut = false
  }

  get open(): number {
    return this.pairs.size
  }

  async close(): Promise<void> {
    this.cut()
    const server = this.server
    this.server = null
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  private accept(client: Socket): void {
    if (this.isCut) {
      this.stats.refused++
      client.destroy()
      return
    }
    this.stats.accepted++
    const upstream = connect(this.targetPort, this.targetHost)
    const pair: [Socket, Socket] = [client, upstream]
    this.pairs.add(pair)
    const drop = (): void => {
      this.pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', drop)
    upstream.on('error', drop)
    client.on('close', drop)
    upstream.on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  }
}
