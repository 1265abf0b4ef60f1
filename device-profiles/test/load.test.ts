import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProfileError } from '../src/errors.js';
import { loadProfileDir, loadProfileFile } from '../src/load.js';

const profile = (id: string, extra = ''): string => `schema: quanlink/device-profile@1
id: ${id}
kind: loop-detector
manufacturer: Test
model: T-1
protocol: modbus
resources:
  - name: uptime
    wire: { table: input-register, address: 0, type: uint32 }
${extra}`;

describe('loading profiles from files and folders', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'quanlink-profiles-'));
    await mkdir(join(dir, 'loops', 'old'), { recursive: true });
    await writeFile(join(dir, 'a-first.yaml'), profile('card-a'));
    await writeFile(join(dir, 'loops', 'b.yml'), profile('card-b'));
    await writeFile(join(dir, 'loops', 'old', 'c.YAML'), profile('card-c'));
    await writeFile(join(dir, 'loops', 'z-copy.yaml'), profile('card-a'));
    await writeFile(join(dir, 'loops', 'broken.yaml'), profile('card-d', '    value: { scale: 0 }\n'));
    await writeFile(join(dir, 'README.md'), '# not a profile');
    await writeFile(join(dir, 'notes.txt'), 'id: not-a-profile');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('loads every *.yaml and *.yml below a folder, and reports each bad file without stopping', async () => {
    const { profiles, errors } = await loadProfileDir(dir);
    assert.deepEqual(profiles.map((p) => p.id).sort(), ['card-a', 'card-b', 'card-c']);
    assert.deepEqual(
      errors.map((e) => [e.file, e.path, e.problem]),
      [
        [join(dir, 'loops', 'broken.yaml'), 'resources[0].value.scale', 'must not be 0: every value would read as the offset'],
        [join(dir, 'loops', 'z-copy.yaml'), 'id', `duplicate id 'card-a': already defined in ${join(dir, 'a-first.yaml')}`],
      ],
    );
    assert.equal(errors[0]!.line, 10);
    assert.equal(profiles.find((p) => p.id === 'card-b')?.source, join(dir, 'loops', 'b.yml'));
  });

  it('reports a folder that cannot be read instead of throwing', async () => {
    const missing = join(dir, 'nope');
    const { profiles, errors } = await loadProfileDir(missing);
    assert.deepEqual(profiles, []);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.file, missing);
    assert.equal(errors[0]!.path, '(directory)');
    assert.match(errors[0]!.problem, /^cannot read: ENOENT/);
  });

  it('loads one file, and names a file it cannot read', async () => {
    assert.equal((await loadProfileFile(join(dir, 'loops', 'b.yml'))).id, 'card-b');
    const missing = join(dir, 'missing.yaml');
    await assert.rejects(loadProfileFile(missing), (err: unknown) => {
      assert.ok(err instanceof ProfileError);
      assert.equal(err.file, missing);
      assert.equal(err.path, '(file)');
      assert.match(err.problem, /^cannot read: ENOENT/);
      return true;
    });
  });
});
