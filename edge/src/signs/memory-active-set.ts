/** An active set in memory: no durability. For unit tests of the parts around it. */
import { mergeEntry, reported, type ActiveEntry, type ActiveSet, type EntryReport, type NewEntry } from './active-set.js';

export class MemoryActiveSet implements ActiveSet {
  /** Keyed by screen, then message id. */
  private readonly entries = new Map<string, Map<string, ActiveEntry>>();
  private lastRev = 0;

  private screenMap(screen: string): Map<string, ActiveEntry> {
    let map = this.entries.get(screen);
    if (!map) this.entries.set(screen, (map = new Map()));
    return map;
  }

  add(entries: readonly NewEntry[], receivedAt: number): ActiveEntry[] {
    return entries.map((incoming) => {
      const map = this.screenMap(incoming.screen);
      const existing = map.get(incoming.message.id);
      const next = mergeEntry(existing, incoming, receivedAt, () => ++this.lastRev);
      if (next) map.set(incoming.message.id, next);
      return structuredClone(next ?? existing!);
    });
  }

  cancel(messageId: string, screens?: readonly string[]): ActiveEntry[] {
    const marked: ActiveEntry[] = [];
    for (const [screen, map] of this.entries) {
      const entry = map.get(messageId);
      if (!entry || (screens && !screens.includes(screen))) continue;
      entry.state = 'cancelled';
      marked.push(structuredClone(entry));
    }
    return marked.sort((a, b) => a.rev - b.rev);
  }

  replaceAll(entries: readonly NewEntry[], receivedAt: number): { entries: ActiveEntry[]; dropped: ActiveEntry[] } {
    const wanted = new Set(entries.map((e) => `${e.screen}\u0000${e.message.id}`));
    const dropped: ActiveEntry[] = [];
    for (const [screen, map] of this.entries) {
      for (const entry of map.values()) {
        if (entry.origin !== 'cloud' || wanted.has(`${screen}\u0000${entry.message.id}`)) continue;
        entry.state = 'cancelled';
        dropped.push(structuredClone(entry));
      }
    }
    return { entries: this.add(entries, receivedAt), dropped: dropped.sort((a, b) => a.rev - b.rev) };
  }

  list(screen: string): ActiveEntry[] {
    return [...(this.entries.get(screen)?.values() ?? [])].sort((a, b) => a.rev - b.rev).map((e) => structuredClone(e));
  }

  screens(): string[] {
    return [...this.entries].filter(([, map]) => map.size > 0).map(([screen]) => screen).sort();
  }

  applyReports(screen: string, reports: readonly EntryReport[]): void {
    const map = this.entries.get(screen);
    if (!map) return;
    for (const report of reports) {
      const entry = [...map.values()].find((e) => e.dispatchId === report.dispatchId && e.rev === report.rev);
      if (!entry) continue;
      const next = reported(entry, report.state);
      if (next) map.set(entry.message.id, next);
      else map.delete(entry.message.id);
    }
  }

  close(): void {}
}
