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
import type http from 'node:http';
import type { Logger } from 'pino';
import { HttpError, noRoute, readJsonBody, startControlHttp, type ControlServer } from '../control-http.js';
import type { LoopCardControls } from './card.js';
import { FAULT_KINDS, checkFault, type LoopCardFault, type LoopCardFaultKind } from './faults.js';

export type { ControlServer } from '../control-http.js';

/** A card as the control endpoint sees it: its controls, and where it listens when it has its own port. */
export type ControlledCard = LoopCardControls & { readonly host?: string; readonly port?: number };

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

function parseFaultBody(parsed: unknown, cardCount: number): { card: number; fault: LoopCardFault } {
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
  const handle = async (req: http.IncomingMessage, url: URL): Promise<unknown> => {
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
        const { card, fault } = parseFaultBody(await readJsonBody(req), cards.length);
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
      default:
        throw noRoute(req, url, ['/truth', '/periods', '/pause', '/resume', '/stop-traffic', '/fault']);
    }
  };
  return startControlHttp(handle, opts);
}
