/**
 * HTTP control endpoint for running loop card simulators, so that a test or a demo in another
 * process can read ground truth and steer the cards:
 *   GET    /truth                              every card's truth
 *   GET    /periods [?periodS=S][&card=N][&fromS=A][&toS=B]   truth per clock-aligned sample period
 *   POST   /pause | /resume | /stop-traffic   [?card=N]  (all cards without ?card)
 *   POST   /fault   {"card": N, "fault": {...}}           set a fault on one card
 *   DELETE /fault   [?card=N][&kind=K][&lanes=1,2]        clear faults (all, or of one kind)
 * Cards are numbered from 0 in the order they were started.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { LoopCardControls } from './card.js';
import { FAULT_KINDS, checkFault, type LoopCardFault, type LoopCardFaultKind } from './faults.js';

export interface ControlServer {
  readonly url: string;
  close(): Promise<void>;
}

/** A card as the control endpoint sees it: its controls, and where it listens when it has its own port. */
export type ControlledCard = LoopCardControls & { readonly host?: string; readonly port?: number };

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
function selectCards(url: URL, cards: readonly ControlledCard[]): number[] {
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

function numberParam(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) throw new HttpError(400, `${name} must be a number, got '${raw}'`);
  return value;
}

function kindParam(url: URL): LoopCardFaultKind | undefined {
  const kind = url.searchParams.get('kind');
  if (kind === null) return undefined;
  if (!(FAULT_KINDS as readonly string[]).includes(kind)) throw new HttpError(400, `kind must be one of ${FAULT_KINDS.join(', ')}, got '${kind}'`);
  return kind as LoopCardFaultKind;
}

function lanesParam(url: URL): number[] | undefined {
  const raw = url.searchParams.get('lanes');
  if (raw === null) return undefined;
  const lanes = raw.split(',').map(Number);
  if (!lanes.every((l) => Number.isInteger(l) && l >= 1)) throw new HttpError(400, `lanes must be a comma-separated list of lane numbers, got '${raw}'`);
  return lanes;
}

/** Card methods throw RangeError for requests they refuse (a lane the card lacks, a period length): the client's mistake. */
function asClientError<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof RangeError) throw new HttpError(400, err.message);
    throw err;
  }
}

export async function startControlServer(
  cards: readonly ControlledCard[],
  opts: { host?: string; port?: number; logger: Logger; /** Period length of GET /periods without ?periodS. Default 30. */ periodS?: number },
): Promise<ControlServer> {
  const where = (c: ControlledCard) => ({ unitId: c.unitId, profile: c.profileId, ...(c.port !== undefined && { host: c.host, port: c.port }) });
  const handle = async (req: http.IncomingMessage): Promise<unknown> => {
    const url = new URL(req.url ?? '/', 'http://control');
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /truth':
        return { cards: cards.map((c, i) => ({ card: i, ...where(c), truth: c.truth() })) };
      case 'GET /periods': {
        const periodS = numberParam(url, 'periodS') ?? opts.periodS ?? 30;
        const range = { ...(url.searchParams.has('fromS') && { fromS: numberParam(url, 'fromS')! }), ...(url.searchParams.has('toS') && { toS: numberParam(url, 'toS')! }) };
        return {
          periodS,
          cards: selectCards(url, cards).map((i) => ({ card: i, ...where(cards[i]!), periods: asClientError(() => cards[i]!.periods(periodS, range)) })),
        };
      }
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
        asClientError(() => cards[card]!.setFault(fault));
        return { ok: true, card, fault, faults: cards[card]!.faults() };
      }
      case 'DELETE /fault': {
        const selected = selectCards(url, cards);
        const kind = kindParam(url);
        const lanes = lanesParam(url);
        if (lanes && !kind) throw new HttpError(400, 'lanes needs a kind (a lane fault kind)');
        for (const i of selected) {
          if (kind) asClientError(() => cards[i]!.clearFault(kind, lanes));
          else cards[i]!.setFault(null);
        }
        return { ok: true, cards: selected };
      }
      default: {
        const known = ['/truth', '/periods', '/pause', '/resume', '/stop-traffic', '/fault'].includes(url.pathname);
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
