/**
 * Which message a screen shows at a given moment (NTCIP 1203 run-time priority): among the entries
 * whose window holds `now`, the highest priority wins; on equal priority the newest (createdAt, then
 * the larger message id). With none, the binding's default message, else blank. Pure, so that it
 * can be tested as a table and run again at any time with the same answer.
 */
import type { SignMessage } from '@quanlink/contracts';

export interface Arbitrated {
  message: SignMessage;
}

export interface Arbitration<E extends Arbitrated> {
  /** The entry the screen should show; undefined -> the default message, or blank. */
  winner: E | undefined;
  /** Entries whose window holds `now` (the winner included). */
  eligible: E[];
  /** Entries whose end has passed: to be reported expired and removed. */
  ended: E[];
  /** Earliest future start or end among the entries: when the answer can next change. */
  nextChangeAt: number | undefined;
}

/** True when a should show rather than b. */
export function outranks(a: SignMessage, b: SignMessage): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.createdAt !== b.createdAt) return a.createdAt > b.createdAt;
  return a.id > b.id;
}

export function arbitrate<E extends Arbitrated>(entries: readonly E[], now: number): Arbitration<E> {
  const eligible: E[] = [];
  const ended: E[] = [];
  let winner: E | undefined;
  let nextChangeAt: number | undefined;
  const consider = (at: number | undefined) => {
    if (at !== undefined && at > now && (nextChangeAt === undefined || at < nextChangeAt)) nextChangeAt = at;
  };
  for (const entry of entries) {
    const { startAt, endAt } = entry.message;
    if (endAt !== undefined && endAt <= now) {
      ended.push(entry);
      continue;
    }
    consider(startAt);
    consider(endAt);
    if (startAt > now) continue;
    eligible.push(entry);
    if (!winner || outranks(entry.message, winner.message)) winner = entry;
  }
  return { winner, eligible, ended, nextChangeAt };
}
