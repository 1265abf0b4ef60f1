/**
 * Two pseudo-terminals joined by socat (raw, no echo) behind links in a fresh temporary folder:
 * a serial cable between the simulator's end and the client's end, with real tty semantics.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SerialCable {
  /** The end the simulator serves. */
  devicePath: string;
  /** The end a client opens. */
  clientPath: string;
  /** Stops socat (the process this helper started) and removes the links. */
  close(): Promise<void>;
}

export async function openSerialCable(): Promise<SerialCable> {
  const dir = mkdtempSync(join(tmpdir(), 'quanlink-sim-pty-'));
  const devicePath = join(dir, 'device');
  const clientPath = join(dir, 'client');
  const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${clientPath}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  socat.stderr.on('data', (chunk: Buffer) => void (log += chunk.toString()));
  const exited = new Promise<void>((resolve) => socat.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  socat.once('error', (err) => void (spawnError = err));
  const deadline = Date.now() + 5000;
  while (!(log.includes('starting data transfer loop') && existsSync(devicePath) && existsSync(clientPath))) {
    if (spawnError || socat.exitCode !== null || Date.now() > deadline) {
      socat.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`socat did not make a pty pair: ${spawnError?.message ?? log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return {
    devicePath,
    clientPath,
    async close() {
      if (socat.exitCode === null && socat.signalCode === null) {
        socat.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
