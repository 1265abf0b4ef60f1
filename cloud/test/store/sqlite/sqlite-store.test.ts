import { storeConformance } from '../conformance.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

const dir = mkdtempSync(join(tmpdir(), 'quanlink-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

storeConformance('SQLite on a file', async () => new SqliteStore(join(dir, `store-${++n}.sqlite`)));
storeConformance('SQLite :memory:', async () => new SqliteStore(':memory:'));
