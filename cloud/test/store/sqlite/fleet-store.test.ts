import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { fleetConformance } from '../fleet-conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'quanlink-fleet-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

fleetConformance('SQLite on a file', async () => new SqliteStore(join(dir, `fleet-${++n}.sqlite`)));
fleetConformance('SQLite :memory:', async () => new SqliteStore(':memory:'));
