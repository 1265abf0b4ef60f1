import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { usersConformance } from '../users-conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'quanlink-users-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

usersConformance('SQLite on a file', async () => new SqliteStore(join(dir, `users-${++n}.sqlite`)));
usersConformance('SQLite :memory:', async () => new SqliteStore(':memory:'));
