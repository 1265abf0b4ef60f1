/**
 * Runs a write on a WAL database (opened with synchronous=FULL) without waiting for the disk.
 * For writes that can be lost on power failure without harm because they can be redone: pruning
 * acknowledged outbox events (they are sent again and dropped as duplicates), recording reports
 * that the outbox's journal already holds durably. A process crash loses nothing (the write is in
 * the WAL the OS holds); the next FULL commit makes everything before it durable too, so order is kept.
 */
import type Database from 'better-sqlite3';

export function commitWithoutFsync<T>(db: Database.Database, write: () => T): T {
  db.pragma('synchronous = NORMAL');
  try {
    return write();
  } finally {
    db.pragma('synchronous = FULL');
  }
}
