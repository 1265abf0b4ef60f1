/** What only the SQLite implementation promises: durable settings, versioned schema, one transaction per batch. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../src/store/sqlite/migrations.js';

const dir = mkdtempSync(join(tmpdir(), 'quanlink-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string) => join(dir, name);

const counts = (seq: number) => ({ seq, ts: 1_700_000_000_000 + seq, type: 'counts' as const, device: 'loop-1', data: { lanes: { '1': 1 } } });

describe('SQLite store', () => {
  test('a file store runs in WAL mode with synchronous=FULL and foreign keys on', async () => {
    const store = new SqliteStore(file('pragmas.sqlite'));
    try {
      assert.equal(store.pragma('journal_mode'), 'wal');
      assert.equal(store.pragma('synchronous'), 2, 'FULL: the WAL is fsynced at every commit, before the ack goes out');
      assert.equal(store.pragma('foreign_keys'), 1);
    } finally {
      await store.close();
    }
  });

  test('the schema version is kept in user_version; reopening migrates nothing and keeps the data', async () => {
    const path = file('reopen.sqlite');
    const store = new SqliteStore(path);
    await store.addGateway({ id: 'gw-a', passwordHash: 'h' });
    assert.equal(store.pragma('user_version'), SCHEMA_VERSION);
    await store.close();

    const reopened = new SqliteStore(path);
    try {
      assert.equal(reopened.pragma('user_version'), SCHEMA_VERSION);
      assert.equal((await reopened.getGateway('gw-a'))?.id, 'gw-a');
    } finally {
      await reopened.close();
    }
  });

  test('a version-1 store (before traffic) migrates to the current version and keeps its data', async () => {
    const path = file('v1.sqlite');
    const db = new Database(path);
    db.exec(MIGRATIONS[0]!);
    db.pragma('user_version = 1');
    db.prepare("INSERT INTO gateways (id, password_hash, created_at) VALUES ('gw-old', 'h', 1)").run();
    db.prepare("INSERT INTO devices (gateway_id, device_id, kind, updated_at) VALUES ('gw-old', 'loop-1', 'loop-detector', 1)").run();
    db.close();
    const store = new SqliteStore(path);
    try {
      assert.equal(store.pragma('user_version'), SCHEMA_VERSION);
      assert.deepEqual((await store.getDevice('gw-old', 'loop-1'))?.diagnostics, []);
      await store.putSegment({ id: 'seg-1', name: 'Old road', roadClass: 'arterial', lanes: [{ gatewayId: 'gw-old', deviceId: 'loop-1', lane: 1 }] });
      assert.deepEqual((await store.detectorHealth()).map((d) => d.deviceId), ['loop-1']);
    } finally {
      await store.close();
    }
  });

  test('refuses a database written by a newer schema version, naming both versions', async () => {
    const path = file('newer.sqlite');
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(() => new SqliteStore(path), new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this build knows \\(${SCHEMA_VERSION}\\)`));
  });

  test('a batch that fails half-way commits nothing: no events, no projections, no stream advance', async () => {
    const path = file('atomic.sqlite');
    const store = new SqliteStore(path);
    try {
      await store.addGateway({ id: 'gw-a', passwordHash: 'h' });
      const firstBatch = [counts(1), counts(2)];
      await store.ingestBatch('gw-a', { stream: 'stream-atomic-1', first: 1, last: 2 }, firstBatch, []);
      // Make the 4th event of the next batch fail inside the transaction, after 3 and its projection were written.
      const side = new Database(path);
      side.exec(`CREATE TRIGGER fail_on_seq_4 BEFORE INSERT ON events WHEN NEW.seq = 4
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
      side.close();
      const failing = [counts(3), counts(4), counts(5)];
      await assert.rejects(store.ingestBatch('gw-a', { stream: 'stream-atomic-1', first: 3, last: 5 }, failing, []), /injected failure/);
      assert.equal((await store.events({ limit: 100 })).length, 2);
      assert.deepEqual(await store.laneTotals('gw-a', 'loop-1'), { lanes: { '1': 2 }, total: 2 });
      assert.equal((await store.streams('gw-a'))[0]?.syncedSeq, 2);
    } finally {
      await store.close();
    }
  });

  test('every batch answered before the writer process is killed (SIGKILL) is there after reopening', async () => {
    const path = file('crash.sqlite');
    const writer = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', writer, path, '5'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const answers: { upTo: number }[] = [];
    for await (const line of createInterface({ input: child.stdout })) {
      answers.push(JSON.parse(line) as { upTo: number });
      if (answers.length === 5) break;
    }
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    assert.equal(answers.at(-1)?.upTo, 500);

    const store = new SqliteStore(path);
    try {
      assert.equal((await store.streams('gw-crash'))[0]?.syncedSeq, 500);
      assert.equal((await store.events({ gatewayId: 'gw-crash', limit: 1000 })).length, 500);
      assert.deepEqual(await store.laneTotals('gw-crash', 'loop-1'), { lanes: { '1': 500 }, total: 500 });
    } finally {
      await store.close();
    }
  });
});
