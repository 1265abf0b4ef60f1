/**
 * The system the browser tests look at, wired like the demo (demo/src/main.ts): the cloud and the
 * gateway as processes, a loop-card simulator and two guidance-screen simulators as processes with
 * their control endpoints, a camera simulator when the detector model is there; a road segment over
 * the cards' lanes with the screens on it; users with roles signed in through the real login.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudProcess, EDGE_CLI, EdgeProcess, REPO_ROOT, cameraBinding, loopCardBinding, screenBinding, startProcess, tempDir, waitUntil, type ManagedProcess } from '@quanlink/e2e';
import type { DeviceBinding } from '@quanlink/edge';
import { FASTESTDET_MODEL_PATH, startCameraSimulator, type CameraSimulator } from '@quanlink/simulators';

export const GATEWAY = 'dash-gw-1';
export const USERS = {
  admin: { username: 'zhou.admin', password: 'admin-password-1', role: 'admin', name: '周管理' },
  controller: { username: 'li.controller', password: 'controller-pass-1', role: 'controller', name: '李调度' },
  viewer: { username: 'wang.viewer', password: 'viewer-password-1', role: 'viewer', name: 'Wang Viewer' },
} as const;

/** Where the test's gateway stands (WGS 84). */
export const SITE = { lat: 30.26, lon: 120.16 };

export interface DashboardSystem {
  cloud: CloudProcess;
  baseUrl: string;
  /** Each screen simulator's control endpoint (GET /state says what it shows). */
  signControl: Record<string, string>;
  camera: CameraSimulator | undefined;
  /** Why the camera is left out, when it is. */
  cameraSkip: string | undefined;
  /** Signs a release (one main.mjs) with the edge CLI as an operator does; the cloud trusts the key. Returns the bundle file. */
  signBundle(version: string): string;
  /** A loop card the gateway does not drive yet (a test binds it through the desired configuration). */
  spareCard: { host: string; port: number; unitId: number };
  stop(): Promise<void>;
}

export async function startDashboardSystem(): Promise<DashboardSystem> {
  const dir = tempDir('dashboard');
  mkdirSync(join(dir.path, 'edge'), { recursive: true });
  const parts: { stop(): Promise<unknown> }[] = [];
  const stop = async () => {
    for (const part of parts.reverse()) await part.stop().catch(() => undefined);
    dir.remove();
  };
  try {
    // An update signing key the cloud trusts (it reads the key files from its environment at start).
    const signingDir = join(dir.path, 'signing');
    edgeCli('update', 'keygen', '--out', signingDir);
    const previousKeys = process.env.QUANLINK_UPDATE_TRUSTED_KEYS;
    process.env.QUANLINK_UPDATE_TRUSTED_KEYS = join(signingDir, 'update-signing.pub');
    let cloud: CloudProcess;
    try {
      cloud = await new CloudProcess({ dataDir: join(dir.path, 'cloud'), logFile: join(dir.path, 'cloud.log') }).start();
    } finally {
      if (previousKeys === undefined) delete process.env.QUANLINK_UPDATE_TRUSTED_KEYS;
      else process.env.QUANLINK_UPDATE_TRUSTED_KEYS = previousKeys;
    }
    parts.push(cloud);
    const signBundle = (version: string) => {
      const release = join(dir.path, `release-${version}`);
      mkdirSync(release, { recursive: true });
      writeFileSync(join(release, 'main.mjs'), `console.log('agent ${version}');\n`);
      const bundle = join(dir.path, `agent-${version}.qlb`);
      edgeCli('update', 'sign', '--key', join(signingDir, 'update-signing.key'), '--version', version, '--dir', release, '--out', bundle);
      return bundle;
    };
    const password = await cloud.addGateway(GATEWAY, 'Dashboard test box');
    for (const user of Object.values(USERS)) await cloud.api('/api/v1/users', { method: 'POST', body: JSON.stringify(user) });

    const loops: ManagedProcess = await startProcess('loop simulators', 'simulators/src/cli.ts', ['loop', '--count', '3', '--seed', '7', '--rate', '0.5', '--control-port', '0']);
    parts.push(loops);
    const allCards = loops.ready.cards as { host: string; port: number; unitId: number }[];
    const cards = allCards.slice(0, 2);
    const spareCard = allCards[2];
    if (!spareCard) throw new Error(`the loop simulator started ${allCards.length} cards, not 3`);

    const signControl: Record<string, string> = {};
    const signBindings: DeviceBinding[] = [];
    for (const id of ['ramp-1', 'ramp-2']) {
      const sign = await startProcess(`sign ${id}`, 'simulators/src/cli.ts', ['vms', '--wire', 'modbus-tcp', '--id', id, '--control-port', '0']);
      parts.push(sign);
      signControl[id] = sign.ready.control as string;
      signBindings.push(screenBinding(id, { wire: 'modbus-tcp', ...(sign.ready as { port: number; unitId: number }) }));
    }

    let camera: CameraSimulator | undefined;
    let cameraSkip: string | undefined;
    if (existsSync(FASTESTDET_MODEL_PATH)) {
      camera = await startCameraSimulator({ seed: 11, flowVph: 1000, discoveryPort: null });
      parts.push({ stop: () => camera!.close() });
    } else {
      cameraSkip = `no detector model at ${FASTESTDET_MODEL_PATH}`;
    }

    const edge = new EdgeProcess({
      dir: join(dir.path, 'edge'),
      gatewayId: GATEWAY,
      cloudUrl: cloud.mqttUrl,
      password,
      devices: [
        ...cards.map((card, i) => loopCardBinding(`loop-${i + 1}`, card, 1000, { periodS: 10 })),
        ...signBindings,
        ...(camera ? [cameraBinding(camera, { fps: 4 })] : []),
      ],
      logFile: join(dir.path, 'edge.log'),
    });
    await edge.writeConfig();
    await edge.start();
    parts.push(edge);

    await cloud.api('/api/v1/segments/dash-arterial', {
      method: 'PUT',
      body: JSON.stringify({ name: 'Dashboard arterial', roadClass: 'arterial', lanes: cards.flatMap((_, i) => [1, 2, 3, 4].map((lane) => ({ gatewayId: GATEWAY, deviceId: `loop-${i + 1}`, lane }))) }),
    });
    await waitUntil('both screens in the registry', () => cloud.api<{ screens: { key: string }[] }>('/api/v1/screens'), (r) => r.screens.length === 2, { timeoutMs: 45_000 });
    for (const id of Object.keys(signControl)) {
      await cloud.api(`/api/v1/screens/${GATEWAY}/${id}`, { method: 'PUT', body: JSON.stringify({ segment: 'dash-arterial', groups: ['dash-signs'] }) });
    }
    // Placed on the map: a grid cell, a site in it with the gateway, the screens west and east of it.
    await cloud.api('/api/v1/grid-cells/dash-cell', { method: 'PUT', body: JSON.stringify({ name: '城东网格', bbox: [120.15, 30.25, 120.17, 30.27] }) });
    await cloud.api('/api/v1/sites/dash-site', { method: 'PUT', body: JSON.stringify({ name: 'Dashboard junction', location: SITE, gridCell: 'dash-cell' }) });
    await cloud.api(`/api/v1/gateways/${GATEWAY}/placement`, { method: 'PUT', body: JSON.stringify({ site: 'dash-site' }) });
    await cloud.api(`/api/v1/screens/${GATEWAY}/ramp-1`, { method: 'PUT', body: JSON.stringify({ location: { lat: SITE.lat, lon: SITE.lon - 0.004 } }) });
    await cloud.api(`/api/v1/screens/${GATEWAY}/ramp-2`, { method: 'PUT', body: JSON.stringify({ location: { lat: SITE.lat, lon: SITE.lon + 0.004 } }) });
    await cloud.api('/api/v1/guidance-rules/dash-jam', {
      method: 'PUT',
      body: JSON.stringify({ segment: 'dash-arterial', whenGradeAtLeast: 'severe', targets: { segments: ['dash-arterial'] }, multi: '前方拥堵[nl]请绕行', approval: true }),
    });
    return { cloud, baseUrl: cloud.httpUrl, signControl, camera, cameraSkip, spareCard, signBundle, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function edgeCli(...args: string[]): void {
  const run = spawnSync(process.execPath, ['--import', 'tsx', EDGE_CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`quanlink-edge ${args.join(' ')} exited with ${run.status}: ${run.stderr}`);
}
