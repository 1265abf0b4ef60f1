/**
 * The HTTP control endpoint every simulator offers: a small JSON API on 127.0.0.1 that a test or
 * a demo in another process uses to read ground truth and inject faults. Routes are the
 * simulator's; this file does the serving, body reading and error answers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

export interface ControlServer {
  readonly url: string;
  close(): Promise<void>;
}

/** A refusal with its HTTP status; the client gets `{"error": message}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A non-JSON answer (an image). */
export class RawReply {
  constructor(
    readonly contentType: string,
    readonly body: Buffer,
  ) {}
}

const MAX_BODY_BYTES = 64 * 1024;

export function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The request body as JSON; 400 when it is not. */
export async function readJsonBody(req: http.IncomingMessage): Promise<unknown> {
  const body = await readBody(req);
  try {
    return JSON.parse(body);
  } catch (err) {
    throw new HttpError(400, `body is not valid JSON (${(err as Error).message})`);
  }
}

/** 405 for a known path with another method, else 404. */
export function noRoute(req: http.IncomingMessage, url: URL, knownPaths: readonly string[]): HttpError {
  const known = knownPaths.includes(url.pathname);
  return new HttpError(known ? 405 : 404, known ? `${req.method} not allowed on ${url.pathname}` : `no route ${url.pathname}`);
}

/** Answers what `handle` returns: JSON (status 200), a RawReply, or `{error}` for what it throws. */
export async function startControlHttp(
  handle: (req: http.IncomingMessage, url: URL) => Promise<unknown>,
  opts: { host?: string; port?: number; logger: Logger },
): Promise<ControlServer> {
  const server = http.createServer((req, res) => {
    const send = (status: number, contentType: string, body: string | Buffer): void => {
      res.writeHead(status, { 'content-type': contentType });
      res.end(body);
    };
    handle(req, new URL(req.url ?? '/', 'http://control')).then(
      (body) => (body instanceof RawReply ? send(200, body.contentType, body.body) : send(200, 'application/json', JSON.stringify(body))),
      (err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        const message = err instanceof Error ? err.message : String(err);
        opts.logger.warn({ operation: `control ${req.method} ${req.url}`, status, problem: message }, 'control request rejected');
        send(status, 'application/json', JSON.stringify({ error: message }));
      },
    );
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: opts.port ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
