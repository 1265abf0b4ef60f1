/** `quanlink-cloud user add` as a user runs it: a child process, JSON on stdout, exit codes. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Accounts } from '../../src/auth/accounts.js';
import { openStore } from '../../src/cloud.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'quanlink-cli-user-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('issue 6: user add creates a user with a generated password shown once; bad input exits 2 naming the problem', async () => {
  const added = await run(['user', 'add', 'ops', '--data-dir', dataDir, '--role', 'technician', '--name', 'Field ops']);
  assert.equal(added.code, 0, added.stderr);
  const printed = JSON.parse(added.stdout) as { username: string; role: string; name: string; password: string };
  assert.deepEqual([printed.username, printed.role, printed.name], ['ops', 'technician', 'Field ops']);
  assert.match(printed.password, /^[A-Za-z0-9_-]{32}$/);

  const again = await run(['user', 'add', 'ops', '--data-dir', dataDir, '--role', 'viewer']);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /user 'ops' already exists/);
  const badRole = await run(['user', 'add', 'eve', '--data-dir', dataDir, '--role', 'root']);
  assert.equal(badRole.code, 2);
  assert.match(badRole.stderr, /--role must be one of admin, controller, technician, viewer, got 'root'/);
  const weak = await run(['user', 'add', 'eve', '--data-dir', dataDir, '--role', 'viewer', '--password', 'short']);
  assert.equal(weak.code, 2);
  assert.match(weak.stderr, /password must be at least 12 characters long/);
  assert.ok(!weak.stderr.includes('short\n') && !weak.stdout.includes('short'), 'the refused password is not echoed');

  const store = openStore(dataDir);
  try {
    const accounts = new Accounts({ users: store.users, adminToken: 'unused-admin-token-0123456789' });
    const login = await accounts.login('ops', printed.password);
    assert.ok(login.ok && login.user.role === 'technician');
    assert.equal(await store.users.getUser('eve'), undefined);
  } finally {
    await store.close();
  }
});
