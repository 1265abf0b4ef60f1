/** The CLI as a user runs it: a child process, JSON on stdout, logs on stderr, exit codes. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connectGateway } from './helpers.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'quanlink-cli-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();
/** Whatever a failing test leaves running is killed, so the test process (and CI) never hangs on it. */
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

function cli(args: string[]): ChildProcessByStdio<null, Readable, Readable> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Runs the CLI to completion (killed after 30 s, which fails the test with its output). */
function run(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = cli(args);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`'${args.join(' ')}' did not exit within 30 s; stderr: ${stderr.slice(-1000)}`));
    }, 30_000);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('cloud CLI', () => {
  test('--help prints the usage and exits 0', async () => {
    const { code, stdout } = await run(['--help']);
    assert.equal(code, 0);
    assert.match(stdout, /quanlink-cloud serve --data-dir DIR/);
    assert.match(stdout, /quanlink-cloud gateway add ID/);
    assert.match(stdout, /quanlink-cloud segment put --data-dir DIR --id ID/);
  });

  test('bad flags and commands exit 2 with a message naming the problem', async () => {
    const cases: [string[], RegExp][] = [
      [['serve', '--data-dir', dataDir, '--bogus'], /Unknown option '--bogus'/],
      [['serve', '--data-dir', dataDir, '--http-port', 'eighty'], /--http-port must be a port number 0-65535, got 'eighty'/],
      [['serve', '--data-dir', dataDir, '--mqtt-port', '70000'], /--mqtt-port must be a port number/],
      [['serve', '--data-dir', dataDir, '--mqtt-url', 'http://x'], /--mqtt-url must start with mqtt:\/\//],
      [['serve'], /--data-dir is required/],
      [['serve', '--data-dir', dataDir, '--tls-dir', dataDir, '--tls-cert', 'c.pem'], /--tls-dir generates the certificates: do not combine it with --tls-cert/],
      [['serve', '--data-dir', dataDir, '--tls-cert', 'c.pem'], /--tls-key is required/],
      [['serve', '--data-dir', dataDir, '--tls-ca', 'ca.pem'], /--tls-ca needs --tls-cert and --tls-key/],
      [['serve', '--data-dir', dataDir, '--update-key', join(dataDir, 'missing.pem')], /--update-key: ENOENT/],
      [['launch'], /unknown command 'launch'/],
      [['gateway', 'remove', 'gw-1'], /unknown action 'remove'/],
      [['gateway', 'add', '--data-dir', dataDir], /missing gateway ID/],
      [['gateway', 'add', 'Not Valid', '--data-dir', dataDir], /gateway id 'Not Valid' is invalid/],
      [['gateway', 'add', 'gw-x', '--data-dir', dataDir, '--password', 'short'], /too short/],
      [[], /Usage/],
    ];
    for (const [args, message] of cases) {
      const { code, stdout, stderr } = await run(args);
      assert.equal(code, 2, `exit code of ${args.join(' ')}`);
      assert.match(stderr + stdout, message, args.join(' '));
    }
  });

  test('gateway add registers a gateway and prints its password once; a second add fails', async () => {
    const added = await run(['gateway', 'add', 'gw-cli', '--name', 'Depot', '--data-dir', dataDir]);
    assert.equal(added.code, 0, added.stderr);
    const credentials = JSON.parse(added.stdout) as { id: string; password: string };
    assert.equal(credentials.id, 'gw-cli');
    assert.match(credentials.password, /^[A-Za-z0-9_-]{32}$/);

    const again = await run(['gateway', 'add', 'gw-cli', '--data-dir', dataDir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /gateway 'gw-cli' already exists/);
    assert.equal(again.stdout, '');
  });

  test('segment put saves a road segment and prints it; bad flags exit 2; an unknown gateway or a taken lane exits 1', async () => {
    assert.equal((await run(['gateway', 'add', 'gw-seg', '--data-dir', dataDir])).code, 0);
    const base = ['segment', 'put', '--data-dir', dataDir, '--name', 'Ring north'];
    const created = await run([...base, '--id', 'ring-n', '--class', 'arterial', '--lane', 'gw-seg/loop-1/1', '--lane', 'gw-seg/loop-1/2']);
    assert.equal(created.code, 0, created.stderr);
    const saved = JSON.parse(created.stdout) as { created: boolean; segment: { id: string; roadClass: string; lanes: unknown[] } };
    assert.equal(saved.created, true);
    assert.equal(saved.segment.roadClass, 'arterial');
    assert.deepEqual(saved.segment.lanes, [
      { gatewayId: 'gw-seg', deviceId: 'loop-1', lane: 1 },
      { gatewayId: 'gw-seg', deviceId: 'loop-1', lane: 2 },
    ]);
    const replaced = await run([...base, '--id', 'ring-n', '--class', 'expressway', '--lane', 'gw-seg/loop-1/1']);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.equal((JSON.parse(replaced.stdout) as { created: boolean }).created, false);

    const usage: [string[], RegExp][] = [
      [[...base, '--id', 'x', '--class', 'highway', '--lane', 'gw-seg/loop-1/1'], /--class must be one of expressway, arterial, secondary, got 'highway'/],
      [[...base, '--id', 'x', '--class', 'arterial', '--lane', 'gw-seg:loop-1:1'], /--lane must be gateway\/device\/lane/],
      [[...base, '--id', 'x', '--class', 'arterial', '--lane', 'gw-seg/loop-1/0'], /lane 0 must be an integer 1-999/],
      [[...base, '--id', 'x', '--class', 'arterial'], /--lane is required/],
      [[...base, '--class', 'arterial', '--lane', 'gw-seg/loop-1/1'], /--id is required/],
      [['segment', 'drop'], /segment: unknown action 'drop'/],
    ];
    for (const [args, message] of usage) {
      const { code, stderr } = await run(args);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, message, args.join(' '));
    }
    const unknownGateway = await run([...base, '--id', 'x', '--class', 'arterial', '--lane', 'gw-nowhere/loop-1/1']);
    assert.equal(unknownGateway.code, 1);
    assert.match(unknownGateway.stderr, /gateway 'gw-nowhere' is not registered/);
    const taken = await run([...base, '--id', 'x', '--class', 'arterial', '--lane', 'gw-seg/loop-1/1']);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /lane gw-seg\/loop-1\/1 already belongs to segment 'ring-n'/);
  });

  test('serve prints one "listening" JSON line, serves HTTP and MQTT for the stored gateways, and exits 0 on SIGTERM and SIGINT', async () => {
    const chosen = await run(['gateway', 'add', 'gw-serve', '--password', 'serve-password-123', '--data-dir', dataDir]);
    assert.equal(chosen.code, 0, chosen.stderr);

    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const child = cli(['serve', '--data-dir', dataDir, '--host', '127.0.0.1', '--mqtt-port', '0', '--http-port', '0', '--admin-token', 'cli-admin-token-123']);
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const first = await lines.next();
      const listening = JSON.parse(String(first.value)) as { event: string; http: string; mqtt: string; adminToken?: string };
      assert.equal(listening.event, 'listening');
      assert.match(listening.http, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(listening.mqtt, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(listening.adminToken, undefined, 'a token given on the command line is not echoed');

      const health = (await (await fetch(`${listening.http}/api/v1/health`)).json()) as { status: string };
      assert.equal(health.status, 'ok');
      const gateway = await connectGateway(listening.mqtt, 'gw-serve', 'serve-password-123');
      await gateway.endAsync();
      assert.match(stderr, /"level":30/, 'pino logs go to stderr');

      child.kill(signal);
      assert.equal(await exited, 0, `exit code after ${signal}; stderr: ${stderr.slice(-2000)}`);
      assert.equal((await lines.next()).done, true, 'nothing else on stdout');
    }
  });

  test('serve without --admin-token prints the generated token once, in the listening line', async () => {
    const child = cli(['serve', '--data-dir', dataDir, '--mqtt-port', '0', '--http-port', '0']);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const first = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
    const listening = JSON.parse(String(first.value)) as { http: string; adminToken: string };
    assert.match(listening.adminToken, /^[A-Za-z0-9_-]{32}$/);
    const created = await fetch(`${listening.http}/api/v1/gateways`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${listening.adminToken}` },
      body: JSON.stringify({ id: 'gw-token' }),
    });
    assert.equal(created.status, 201);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(!stderr.includes(listening.adminToken), 'the token is never logged');
  });

  test('issue 6: serve --tls-dir serves HTTPS and MQTT over TLS with a CA generated into the folder, which clients must trust', async () => {
    const tlsDir = join(dataDir, 'tls');
    const child = cli(['serve', '--data-dir', dataDir, '--mqtt-port', '0', '--http-port', '0', '--admin-token', 'cli-admin-token-123', '--tls-dir', tlsDir]);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const first = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
      const listening = JSON.parse(String(first.value)) as { http: string; mqtt: string };
      assert.match(listening.http, /^https:\/\//);
      assert.match(listening.mqtt, /^mqtts:\/\//);
      const ca = readFileSync(join(tlsDir, 'ca.crt'), 'utf8');
      const { request } = await import('node:https');
      const status = (options: { ca?: string }) =>
        new Promise<number | string>((resolve) => {
          request(`${listening.http}/api/v1/health`, options, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
            .on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
            .end();
        });
      assert.equal(await status({ ca }), 200, 'a client trusting the generated CA gets through');
      assert.equal(await status({}), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'a client without the CA is refused');
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    }
  });

  test('serve on a port that is taken says which flag to change and exits 1', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { code, stderr } = await run(['serve', '--data-dir', dataDir, '--mqtt-port', String(port), '--http-port', '0']);
      assert.equal(code, 1);
      assert.match(stderr, new RegExp(`port ${port} is already in use: choose another with --mqtt-port`));
    } finally {
      blocker.close();
    }
  });
});
