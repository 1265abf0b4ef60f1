/** Opening a TCP connection that can be given up at any moment without leaving a handle behind. */
import net from 'node:net';

export interface SocketOptions {
  host: string;
  port: number;
  timeoutMs: number;
  /** Aborting gives up the attempt at once. */
  signal?: AbortSignal;
}

export function openSocket({ host, port, timeoutMs, signal }: SocketOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    // Rejects only once the socket is closed, so that an abandoned attempt leaves no handle behind.
    const fail = (err: Error): void => {
      cleanup();
      if (socket.closed) reject(err);
      else socket.on('error', () => undefined).once('close', () => reject(err)).destroy();
    };
    const onError = (err: Error): void => fail(err);
    const onAbort = (): void => fail(new Error('connection attempt abandoned'));
    const timer = setTimeout(() => fail(new Error(`connect timed out after ${timeoutMs} ms`)), timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    if (signal?.aborted) return onAbort();
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      cleanup();
      resolve(socket);
    });
  });
}
