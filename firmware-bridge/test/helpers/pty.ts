/**
 * A real pair of connected serial lines: two pseudo-terminals joined by socat (raw, no echo),
 * reached through symlinks in a fresh temporary directory, like /dev/ttyUSB0 and the device on
 * the other end of the cable.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PtyPair {
  /** The end the bus opens. */
  busPath: string;
  /** The end the simulated devices open. */
  devicePath: string;
  /** Stops socat and removes the links. */
  close(): Promise<void>;
}

export async function openPtyPair(): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'quanlink-pty-'));
  const busPath = join(dir, 'bus');
  const devicePath = join(dir, 'device');
  const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${busPath}`, `pty,raw,echo=0,link=${devicePath}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  socat.stderr.on('data', (chunk: Buffer) => void (log += chunk.toString()));
  const exited = new Promise<void>((resolve) => socat.once('close', () => resolve()));
  const spawnFailed = new Promise<never>((_, reject) => socat.once('error', reject));
  spawnFailed.catch(() => undefined);
  const deadline = Date.now() + 5000;
  // socat says so once both ptys are set up and their links exist.
  while (!(log.includes('starting data transfer loop') && existsSync(busPath) && existsSync(devicePath))) {
    if (socat.exitCode !== null || Date.now() > deadline) {
      socat.kill();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`socat did not set up the pty pair: ${log}`);
    }
    await Promise.race([new Promise((r) => setTimeout(r, 10)), spawnFailed]);
  }
  return {
    busPath,
    devicePath,
    close: async () => {
      if (socat.exitCode === null && socat.signalCode === null) {
        socat.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
