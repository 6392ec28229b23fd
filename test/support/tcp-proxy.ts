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
      this.sockets.add(client).add(upstream);
      const forget = () => {
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', forget);
      upstream.on('close', forget);
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

  /** Refuses new connections and kills the open ones, like a database that went down. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    // Stop accepting first, then end every relayed connection: `close` calls back only once the
    // last one is gone, so none may be accepted after the sockets were ended.
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
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
