import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP relay between the app and Postgres that a test can cut and restore, to simulate the
 * database going away and coming back without touching the server others use.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static forUrl(url: string): TcpProxy {
    const parsed = new URL(url);
    return new TcpProxy(parsed.hostname, Number(parsed.port || 5432));
  }

  /** The same URL, pointed at the proxy. */
  rewrite(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  async start(): Promise<void> {
    const relay = createServer((client) => {
      // Accepted as the relay was being cut: refused like the rest.
      if (this.server !== relay) {
        client.destroy();
        return;
      }
      const upstream = connect(this.targetPort, this.targetHost);
      // Each socket leaves the set on its own 'close' only: the server's `close` waits for every
      // accepted socket, so one forgotten while still open (its peer closed first, this side
      // half-open) would make `cut` wait forever.
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
      }
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      // Either side gone: the other goes too (no half-open relays).
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    this.server = relay;
    const server = relay;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      this.server = undefined;
      throw error;
    }
    this.port = (server.address() as { port: number }).port;
  }

  /** Whether it listens, on which port, and how many relayed sockets are open: for failure messages. */
  describe(): string {
    return `${this.server?.listening ? 'listening' : 'not listening'} on ${this.port}, ${this.sockets.size} sockets open`;
  }

  /** Refuses new connections and kills the open ones, like a database that went down. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    // Stop accepting first, then end every relayed connection: `close` calls back only once the
    // last one is gone, so none may be accepted after the sockets were ended.
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const socket of this.sockets) socket.destroy();
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the relay did not close within 5 s: ${this.describe()}`)), 5_000);
    });
    try {
      await Promise.race([closed, stuck]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Listens on the same port again. While the relay was cut, the port was free, and under load an
   * outgoing connection may hold it for a moment: that is waited out (up to 30 s), never hung on.
   */
  async restore(): Promise<void> {
    for (let attempt = 1; !this.server; attempt++) {
      try {
        await this.start();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 300) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}
