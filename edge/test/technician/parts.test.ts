/** issue 6: the technician tools' small parts: one table format, progress on a terminal and in logs, secrets kept out. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { AgentStatus } from '../../src/agent.js';
import { EventBus } from '../../src/events/bus.js';
import { LocalStatusApi, withoutSecrets } from '../../src/technician/local-api.js';
import { Progress } from '../../src/technician/progress.js';
import { formatTable } from '../../src/technician/table.js';

function stream(isTTY: boolean): PassThrough & { isTTY: boolean; columns: number; text(): string } {
  const s = new PassThrough() as PassThrough & { isTTY: boolean; columns: number; text(): string };
  let text = '';
  s.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return Object.assign(s, { isTTY, columns: 60, text: () => text });
}

describe('issue 6: technician parts', () => {
  it('formatTable aligns columns (CJK characters two columns wide), shows - for empty cells and keeps rows on one line', () => {
    assert.equal(
      formatTable(['ID', 'HEALTH', 'NOTE'], [['loop-1', 'ok', undefined], ['屏幕', 'error', 'line one\nline two'], ['x', '', 3]]),
      ['ID      HEALTH  NOTE', 'loop-1  ok      -', '屏幕    error   line one line two', 'x       -       3'].join('\n'),
    );
  });

  it('progress draws a bar in place on a terminal and ends it with a summary', () => {
    const tty = stream(true);
    const progress = new Progress('scanning', 4, { stream: tty });
    progress.tick('unit 1');
    progress.tick('unit 2');
    progress.finish('1 found');
    assert.match(tty.text(), /\r\x1b\[Kscanning \[#{12}\.{12}\] 2\/4 unit 2/);
    assert.ok(tty.text().endsWith('\r\x1b[Kscanning: 2/4 done, 1 found\n'));
  });

  it('progress writes plain lines, not control codes, when stderr is not a terminal', () => {
    const log = stream(false);
    const progress = new Progress('scanning', 3, { stream: log, lineEveryMs: 0 });
    progress.tick('a');
    progress.tick();
    progress.finish('none found');
    assert.equal(log.text(), 'scanning: 1/3 (a)\nscanning: 2/3\nscanning: 2/3 done, none found\n');
  });

  it('withoutSecrets drops fields named like secrets at any depth and credentials in URLs', () => {
    const status = {
      link: { connected: true },
      devices: [{ transport: { url: 'mqtt://gw:pw@10.0.0.1:1883', password: 'pw', username: 'gw' }, apiToken: 't', private_key: 'k', lastError: { message: 'cam-1: open rtsp://admin:pw@10.0.0.9/s1: refused' } }],
    };
    assert.deepEqual(withoutSecrets(status), {
      link: { connected: true },
      devices: [{ transport: { url: 'mqtt://10.0.0.1:1883', username: 'gw' }, lastError: { message: 'cam-1: open rtsp://10.0.0.9/s1: refused' } }],
    });
  });

  it('the local status API reports the last acknowledgement from the bus; a busy port costs the page, not the agent', async () => {
    const status = { gateway: 'gw-1', agentVersion: '1', link: { connected: true, reconnects: 0, batchesSent: 1, resends: 0 }, outbox: { depth: 0, firstSeq: 1, lastSeq: 0, stream: 's' }, devices: [], screens: [], cameras: [], skipped: [] } as unknown as AgentStatus;
    const bus = new EventBus();
    const first = new LocalStatusApi({ port: 0, status: () => status, bus, logger: pino({ level: 'silent' }) });
    await first.start();
    const lines: string[] = [];
    const second = new LocalStatusApi({ port: first.port!, status: () => status, bus, logger: pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) }) });
    try {
      await second.start();
      assert.equal(second.port, undefined);
      assert.match(lines.join(''), /EADDRINUSE.*local status API not available/);
      bus.emit('link.synced', { upTo: 42, pruned: 3 });
      const answer = (await (await fetch(`http://127.0.0.1:${first.port}/status`)).json()) as { link: { lastAck?: { upTo: number } } };
      assert.equal(answer.link.lastAck?.upTo, 42);
    } finally {
      await second.stop();
      await first.stop();
    }
  });
});
