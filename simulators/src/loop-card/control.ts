/**
 * HTTP control endpoint for running loop card simulators, so that a test or a demo in another
 * process can read ground truth and steer the cards:
 *   GET    /truth                      every card's truth
 *   POST   /pause | /resume | /stop-traffic   [?card=N]  (all cards without ?card)
 *   POST   /fault   {"card": N, "fault": {...}}           set a fault on one card
 *   DELETE /fault   [?card=N]                             clear faults
 * Cards are numbered from 0 in the order they were started.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { checkFault, type LoopCardFault, type LoopCardSimulator } from './simulator.js';

export interface ControlServer {
  readonly url: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
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

function parseCardIndex(raw: unknown, cardCount: number): number {
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n >= cardCount) {
    throw new HttpError(400, `card must be an integer 0..${cardCount - 1}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** The cards a request is about: ?card=N, or all of them. */
function selectCards(url: URL, cards: readonly LoopCardSimulator[]): number[] {
  const card = url.searchParams.get('card');
  return card === null ? cards.map((_, i) => i) : [parseCardIndex(card, cards.length)];
}

function parseFaultBody(body: string, cardCount: number): { card: number; fault: LoopCardFault } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw new HttpError(400, `body is not valid JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new HttpError(400, 'body must be an object {card, fault}');
  const { card, fault } = parsed as { card?: unknown; fault?: unknown };
  const index = parseCardIndex(card, cardCount);
  if (typeof fault !== 'object' || fault === null) throw new HttpError(400, 'fault must be an object with a kind');
  try {
    checkFault(fault as LoopCardFault);
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
  return { card: index, fault: fault as LoopCardFault };
}

export async function startControlServer(
  cards: readonly LoopCardSimulator[],
  opts: { host?: string; port?: number; logger: Logger },
): Promise<ControlServer> {
  const handle = async (req: http.IncomingMessage): Promise<unknown> => {
    const url = new URL(req.url ?? '/', 'http://control');
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /truth':
        return { cards: cards.map((c, i) => ({ card: i, host: c.host, port: c.port, unitId: c.unitId, truth: c.truth() })) };
      case 'POST /pause':
      case 'POST /resume':
      case 'POST /stop-traffic': {
        const selected = selectCards(url, cards);
        for (const i of selected) {
          const card = cards[i]!;
          if (url.pathname === '/pause') card.pause();
          else if (url.pathname === '/resume') card.resume();
          else card.stopTraffic();
        }
        return { ok: true, cards: selected };
      }
      case 'POST /fault': {
        const { card, fault } = parseFaultBody(await readBody(req), cards.length);
        cards[card]!.setFault(fault);
        return { ok: true, card, fault };
      }
      case 'DELETE /fault': {
        const selected = selectCards(url, cards);
        for (const i of selected) cards[i]!.setFault(null);
        return { ok: true, cards: selected };
      }
      default: {
        const known = ['/truth', '/pause', '/resume', '/stop-traffic', '/fault'].includes(url.pathname);
        throw new HttpError(known ? 405 : 404, known ? `${req.method} not allowed on ${url.pathname}` : `no route ${url.pathname}`);
      }
    }
  };

  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    handle(req).then(
      (body) => send(200, body),
      (err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        const message = err instanceof Error ? err.message : String(err);
        opts.logger.warn({ operation: `control ${req.method} ${req.url}`, status, problem: message }, 'control request rejected');
        send(status, { error: message });
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
