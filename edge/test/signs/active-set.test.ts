import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteActiveSet } from '../../src/signs/active-set.js';
import { MemoryActiveSet } from '../../src/signs/memory-active-set.js';
import { activeSetConformance } from './active-set-conformance.js';
import { message } from './fake-sign.js';

const dir = mkdtempSync(join(tmpdir(), 'quanlink-signs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

activeSetConformance('SqliteActiveSet (file)', () => new SqliteActiveSet(join(dir, `conf-${n++}.db`)));
activeSetConformance('SqliteActiveSet (:memory:)', () => new SqliteActiveSet(':memory:'));
activeSetConformance('MemoryActiveSet', () => new MemoryActiveSet());

describe('SqliteActiveSet durability', () => {
  it('issue 4: keeps entries, states and revisions across a reopen; revisions are never reused', () => {
    const path = join(dir, 'reopen.db');
    const first = new SqliteActiveSet(path);
    const [a, b] = first.add([{ screen: 's1', message: message({ id: 'a', endAt: 9_000_000_000_000 }), dispatchId: 'd-a' }, { screen: 's1', message: message({ id: 'b' }), dispatchId: 'd-b' }], 7);
    first.applyReports('s1', [{ dispatchId: 'd-a', rev: a!.rev, state: 'displayed' }, { dispatchId: 'd-b', rev: b!.rev, state: 'failed' }]);
    const before = first.list('s1');
    first.close();
    const second = new SqliteActiveSet(path);
    assert.deepEqual(second.list('s1'), before);
    const [c] = second.add([{ screen: 's1', message: message({ id: 'b' }), dispatchId: 'd-b' }], 8);
    assert.ok(c!.rev > b!.rev, 'a re-added entry gets a revision no old report can match');
    second.close();
  });
});
