import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryOutbox, SqliteOutbox } from '../../src/outbox/index.js';
import { counts, outboxConformance } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'quanlink-outbox-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

outboxConformance('SqliteOutbox (file)', () => new SqliteOutbox(join(dir, `conf-${n++}.db`)));
outboxConformance('SqliteOutbox (:memory:)', () => new SqliteOutbox(':memory:'));
outboxConformance('MemoryOutbox', () => new MemoryOutbox());

describe('SqliteOutbox durability', () => {
  it('keeps events, state, stream id and numbering across a reopen', () => {
    const path = join(dir, 'reopen.db');
    const first = new SqliteOutbox(path);
    first.append([counts('d1', { '1': 1 }), counts('d1', { '1': 2 })], { 'd1/lane1.count': 3 });
    first.pruneUpTo(1);
    const stream = first.stream;
    first.close();

    const second = new SqliteOutbox(path);
    assert.equal(second.stream, stream);
    assert.deepEqual(second.stats(), { depth: 1, firstSeq: 2, lastSeq: 2, oldestTs: 1_700_000_000_000 });
    assert.equal(second.getState('d1/lane1.count'), 3);
    assert.equal(second.append([counts('d1', { '1': 1 })])[0]!.seq, 3);
    second.close();
  });

  it('a new file is a new stream', () => {
    const a = new SqliteOutbox(join(dir, 'a.db'));
    const b = new SqliteOutbox(join(dir, 'b.db'));
    assert.notEqual(a.stream, b.stream);
    a.close();
    b.close();
  });
});
