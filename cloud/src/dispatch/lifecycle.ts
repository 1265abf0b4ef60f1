/**
 * The dispatch lifecycle (docs/guidance-screens.md): which moves are legal. Pure.
 *
 * queued -> sent -> delivered -> displayed <-> superseded; terminal: failed, expired, cancelled.
 * The edge may report displayed/superseded/failed before the cloud has seen the command result,
 * so those are legal from sent too. Only a resend (reopen) leaves failed or expired; nothing leaves
 * cancelled.
 */
import type { DispatchState } from './types.js';

export const TERMINAL_STATES: ReadonlySet<DispatchState> = new Set<DispatchState>(['failed', 'expired', 'cancelled']);

const ENDINGS: readonly DispatchState[] = ['failed', 'expired', 'cancelled'];

const LEGAL: Readonly<Record<DispatchState, readonly DispatchState[]>> = {
  queued: ['sent', ...ENDINGS],
  sent: ['delivered', 'displayed', 'superseded', ...ENDINGS],
  delivered: ['displayed', 'superseded', ...ENDINGS],
  displayed: ['superseded', ...ENDINGS],
  superseded: ['displayed', ...ENDINGS],
  failed: [],
  expired: [],
  cancelled: [],
};

/** Where a resend may take a failed or expired dispatch. */
const REOPEN_TARGETS: ReadonlySet<DispatchState> = new Set<DispatchState>(['queued', 'sent']);

export function isTerminal(state: DispatchState): boolean {
  return TERMINAL_STATES.has(state);
}

/** Null when `from -> to` is legal, else why not. */
export function transitionProblem(from: DispatchState, to: DispatchState, reopen = false): string | null {
  if (LEGAL[from].includes(to)) return null;
  if (reopen && (from === 'failed' || from === 'expired') && REOPEN_TARGETS.has(to)) return null;
  if (from === 'cancelled') return `a cancelled dispatch never changes (refused ${from} -> ${to})`;
  if (isTerminal(from)) return `${from} is final (refused ${from} -> ${to}; only a resend reopens it)`;
  return `illegal transition ${from} -> ${to}`;
}
