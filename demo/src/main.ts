/**
 * The demo (`npm start`): the cloud (embedded MQTT broker and SQLite), two loop-card simulators,
 * three guidance-screen simulators (two Modbus ramp signs, one MQTT gantry sign), a camera
 * simulator (ONVIF + RTSP, a road with vehicles) and a gateway bound to them, each a real process
 * through its own CLI. The camera is analysed on the gateway with the FastestDet model when the
 * model file is there (else it is left out, and the banner says why). Ports are picked free
 * unless given, so it starts beside a Mosquitto that already holds 1883. Ctrl-C stops it cleanly.
 *   npm start -- [--http-port N] [--mqtt-port N] [--cards N] [--seed N] [--rate VEH_PER_S]
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CloudProcess, EdgeProcess, REPO_ROOT, loopCardBinding, screenBinding, startProcess, type ManagedProcess } from '@quanlink/e2e';
import { FASTESTDET_SHA256, type DeviceBinding } from '@quanlink/edge';
import { DEFAULT_CAMERA_CREDENTIALS, FASTESTDET_MODEL_PATH, type SceneLine } from '@quanlink/simulators';

const USAGE = 'usage: npm start -- [--http-port N] [--mqtt-port N] [--cards N] [--seed N] [--rate VEH_PER_S_PER_LANE]';

function portFlag(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--${name} must be a port number 1-65535, got '${value}'`);
  return port;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'http-port': { type: 'string' },
      'mqtt-port': { type: 'string' },
      cards: { type: 'string', default: '2' },
      seed: { type: 'string', default: '7' },
      rate: { type: 'string', default: '0.3' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const dir = join(REPO_ROOT, '.demo');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const logs = (name: string) => join(dir, 'logs', `${name}.log`);
  const gatewayId = 'demo-gw-1';
  const parts: { stop(): Promise<unknown> }[] = [];

  const stopAll = async () => {
    for (const part of parts.reverse()) await part.stop().catch(() => undefined);
  };

  try {
    console.log('starting the cloud (embedded MQTT broker, SQLite store, HTTP API)...');
    const httpPort = portFlag(values['http-port'], 'http-port');
    const mqttPort = portFlag(values['mqtt-port'], 'mqtt-port');
    const cloud = new CloudProcess({
      dataDir: join(dir, 'cloud'),
      adminToken: 'demo-admin-token',
      logFile: logs('cloud'),
      ...(httpPort ? { httpPort } : {}),
      ...(mqttPort ? { mqttPort } : {}),
    });
    await cloud.start().catch((err: Error) => {
      throw new Error(
        /EADDRINUSE/.test(err.message)
          ? `a port is taken (${httpPort ?? 'http'} / ${mqttPort ?? 'mqtt'}); choose others with --http-port and --mqtt-port`
          : err.message,
      );
    });
    parts.push(cloud);
    // Demo users (fixed passwords, printed below: the demo listens on 127.0.0.1 only unless told otherwise).
    for (const user of DEMO_USERS) await cloud.api('/api/v1/users', { method: 'POST', body: JSON.stringify(user) });
    const password = await cloud.addGateway(gatewayId, 'Demo roadside box');

    console.log(`starting ${values.cards} loop-card simulators (Modbus TCP)...`);
    const sims: ManagedProcess = await startProcess(
      'simulators',
      'simulators/src/cli.ts',
      ['loop', '--count', values.cards, '--seed', values.seed, '--rate', values.rate, '--control-port', '0'],
      { logFile: logs('simulators') },
    );
    parts.push(sims);
    const cards = sims.ready.cards as { host: string; port: number; unitId: number }[];
    const control = sims.ready.control as string;

    console.log('starting 3 guidance-screen simulators (2 Modbus ramp signs, 1 MQTT gantry sign)...');
    const signs: { id: string; wire: 'modbus-tcp' | 'mqtt'; process: ManagedProcess }[] = [];
    for (const [id, wire] of [['ramp-1', 'modbus-tcp'], ['ramp-2', 'modbus-tcp'], ['gantry-1', 'mqtt']] as const) {
      const sign = await startProcess(`sign ${id}`, 'simulators/src/cli.ts', ['vms', '--wire', wire, '--id', id, '--control-port', '0'], { logFile: logs(`sign-${id}`) });
      parts.push(sign);
      signs.push({ id, wire, process: sign });
    }
    const signBindings = signs.map(({ id, wire, process: sign }) => {
      const r = sign.ready as { port?: number; unitId?: number; brokerUrl?: string; topicBase?: string };
      return screenBinding(id, { wire, ...r });
    });

    const camera = await startCamera(values.seed, logs('camera-cam-1'));
    if (camera.process) parts.push(camera.process);

    console.log('starting the gateway agent...');
    const edge = new EdgeProcess({
      dir: join(dir, 'edge'),
      gatewayId,
      cloudUrl: cloud.mqttUrl,
      password,
      devices: [...cards.map((card, i) => loopCardBinding(`loop-${i + 1}`, card, 1000, { periodS: 20 })), ...signBindings, ...(camera.binding ? [camera.binding] : [])],
      logFile: logs('edge'),
    });
    mkdirSync(edge.opts.dir, { recursive: true });
    await edge.writeConfig();
    await edge.start();
    parts.push(edge);
    // Both cards' lanes make one arterial road segment, graded every period.
    await cloud.api('/api/v1/segments/demo-arterial', {
      method: 'PUT',
      body: JSON.stringify({
        name: 'Demo arterial',
        roadClass: 'arterial',
        lanes: cards.flatMap((_, i) => [1, 2, 3, 4, 5, 6, 7, 8].map((lane) => ({ gatewayId, deviceId: `loop-${i + 1}`, lane }))),
      }),
    });

    // The screens stand on the segment; a welcome message goes on all of them, and a guidance rule
    // puts "前方拥堵 请绕行" up whenever the segment is 中度拥堵 (moderate) or worse.
    await waitForScreens(cloud, gatewayId, signs.length);
    for (const { id } of signs) {
      await cloud.api(`/api/v1/screens/${gatewayId}/${id}`, { method: 'PUT', body: JSON.stringify({ segment: 'demo-arterial', groups: ['demo-signs'] }) });
    }
    // On the map: the screens along an east-west arterial, the loop cards in the road between them,
    // the camera next to the first card looking east; the gateway is drawn in the middle of its devices.
    const road = { lat: 31.2304, lon: 121.4737 };
    const signSpots: Record<string, { lat: number; lon: number }> = {
      'ramp-1': { lat: road.lat + 0.0006, lon: road.lon - 0.006 },
      'ramp-2': { lat: road.lat - 0.0006, lon: road.lon + 0.006 },
      'gantry-1': { lat: road.lat + 0.0004, lon: road.lon },
    };
    for (const { id } of signs) {
      await cloud.api(`/api/v1/screens/${gatewayId}/${id}`, { method: 'PUT', body: JSON.stringify({ location: signSpots[id] }) });
    }
    const place = (deviceId: string, body: object) => cloud.api(`/api/v1/gateways/${gatewayId}/devices/${deviceId}/placement`, { method: 'PUT', body: JSON.stringify(body) });
    for (const [i] of cards.entries()) {
      await place(`loop-${i + 1}`, { location: { lat: road.lat, lon: road.lon - 0.004 + (0.008 * i) / Math.max(1, cards.length - 1) }, note: 'loops under the carriageway' });
    }
    if (camera.binding) await place('cam-1', { location: { lat: road.lat + 0.0008, lon: road.lon - 0.005 }, bearing: 90, note: 'pole-mounted, looking east' });
    await cloud.api('/api/v1/guidance-rules/demo-arterial-jam', {
      method: 'PUT',
      body: JSON.stringify({ segment: 'demo-arterial', whenGradeAtLeast: 'moderate', targets: { segments: ['demo-arterial'] }, multi: '前方拥堵[nl]请绕行' }),
    });
    await cloud.api('/api/v1/messages', {
      method: 'POST',
      body: JSON.stringify({ multi: '[jl3]QUANLINK[nl]欢迎', targets: { groups: ['demo-signs'] }, priority: 20, note: 'demo welcome' }),
    });

    const api = `${cloud.httpUrl}/api/v1`;
    console.log(`
Quanlink demo is running.
  dashboard       ${cloud.httpUrl}/   (in a browser; sign in as one of the users below)
  HTTP API        ${api}            (OpenAPI: ${cloud.httpUrl}/openapi.json, docs: ${cloud.httpUrl}/docs)
  users           ${DEMO_USERS.map((u) => `${u.username} / ${u.password} (${u.role})`).join(', ')}; bootstrap admin token demo-admin-token
  MQTT broker     ${cloud.mqttUrl}
  gateway         ${gatewayId} polling ${cards.length} loop cards: ${cards.map((c) => `${c.host}:${c.port}`).join(', ')}
  ground truth    ${control}/truth   (what the simulators generated)
  screens         ${signs.map(({ id, process: sign }) => `${id} ${sign.ready.control as string}/display.png?scale=4`).join('\n                  ')}
  camera          ${camera.banner}
  logs            ${join(dir, 'logs')}

Try (every route but health and login needs a token; a session token comes from POST ${api}/auth/login):
  AUTH='authorization: Bearer demo-admin-token'
  curl -X POST ${api}/auth/login -H 'content-type: application/json' -d '{"username":"controller","password":"${DEMO_USERS[1]!.password}"}'
  curl -H "$AUTH" ${api}/gateways
  curl -H "$AUTH" ${api}/gateways/${gatewayId}/devices/loop-1/lane-totals
  curl -H "$AUTH" '${api}/gateways/${gatewayId}/devices/loop-1/periods?lane=1&limit=3'    (20 s sample periods)
  curl -H "$AUTH" ${api}/segments                                  (road state grade, GB/T 33171)
  curl -H "$AUTH" ${api}/detector-health
  curl -H "$AUTH" ${api}/screens                                   (guidance screens: what each shows, its condition)
  curl -X POST ${api}/messages -H "$AUTH" -H 'content-type: application/json' \\
       -d '{"multi":"[cf1]事故[nl]减速慢行","targets":{"all":true},"priority":150,"endAt":'$(( $(date +%s) * 1000 + 120000 ))'}'
  (then open a screen's display.png above; GET ${api}/dispatches shows each screen's dispatch state)
${
  camera.binding
    ? `  curl -H "$AUTH" ${api}/cameras                                   (ONVIF make, model, profiles; pipeline state)
  curl -H "$AUTH" '${api}/video-events?limit=5'                     (crossings with snapshot thumbnails)
  curl -H "$AUTH" ${api}/cameras/${gatewayId}/cam-1/lane-counts     (vehicles per lane and direction)
`
    : ''
}
Ctrl-C stops everything.`);

    const crashed = await new Promise<string | undefined>((resolve) => {
      process.once('SIGINT', () => resolve(undefined));
      process.once('SIGTERM', () => resolve(undefined));
      for (const part of [cloud.process, sims, edge.process, ...signs.map((sign) => sign.process), ...(camera.process ? [camera.process] : [])]) {
        part.child.once('exit', (code) => resolve(`${part.name} exited unexpectedly (code ${code}); see ${join(dir, 'logs')}`));
      }
    });
    if (crashed) console.error(crashed);
    console.log('\nstopping...');
    await stopAll();
    console.log('stopped.');
    return crashed ? 1 : 0;
  } catch (err) {
    console.error(`demo: ${(err as Error).message}`);
    await stopAll();
    return 1;
  }
}

/** Seeded at start through the API; the dashboard and the banner's curls use them. */
const DEMO_USERS = [
  { username: 'admin', name: 'Demo admin', role: 'admin', password: 'quanlink-demo-admin' },
  { username: 'controller', name: 'Demo traffic controller', role: 'controller', password: 'quanlink-demo-controller' },
] as const;

/**
 * One camera simulator and its binding: ONVIF with the simulator's credentials, the FastestDet
 * model (sha256 checked), a counting line per lane from the simulator's own lines. Without the
 * model file the camera is left out and `banner` says why.
 */
async function startCamera(seed: string, logFile: string): Promise<{ process?: ManagedProcess; binding?: DeviceBinding; banner: string }> {
  if (!existsSync(FASTESTDET_MODEL_PATH)) {
    const why = `left out: no detector model at ${FASTESTDET_MODEL_PATH} (FastestDet.onnx; see README "Cameras", or set QUANLINK_MODELS_DIR)`;
    console.log(`camera ${why}`);
    return { banner: why };
  }
  console.log('starting a camera simulator (ONVIF, RTSP H.264, a road with 3 lanes)...');
  const sim = await startProcess('camera cam-1', 'simulators/src/cli.ts', ['camera', '--id', 'cam-1', '--seed', seed, '--discovery-port', 'off', '--control-port', '0'], { logFile });
  try {
    const ready = sim.ready as { onvif: string; rtsp: string; control: string; username: string };
    const res = await fetch(`${ready.control}/lines`);
    if (!res.ok) throw new Error(`camera simulator GET ${ready.control}/lines: ${res.status}`);
    const { lines } = (await res.json()) as { lines: SceneLine[] };
    const onvif = new URL(ready.onvif);
    const binding: DeviceBinding = {
      id: 'cam-1',
      name: 'Demo road camera',
      profile: 'onvif-camera',
      transport: { kind: 'onvif', host: onvif.hostname, port: Number(onvif.port), username: ready.username, password: DEFAULT_CAMERA_CREDENTIALS.password, timeoutMs: 5000 },
      video: {
        fps: 10,
        model: { path: FASTESTDET_MODEL_PATH, decoder: 'fastestdet', sha256: FASTESTDET_SHA256 },
        analytics: { lines: lines.map((l) => ({ id: l.id, lane: l.lane, from: l.from, to: l.to })), zones: [], periodS: 20 },
      },
    };
    const banner = `cam-1 ONVIF ${ready.onvif}
                  RTSP  ${ready.rtsp}   (user ${ready.username}, password ${DEFAULT_CAMERA_CREDENTIALS.password}: the simulator's fixed test password)
                  ground truth ${ready.control}/truth, counting lines ${ready.control}/lines`;
    return { process: sim, binding, banner };
  } catch (err) {
    await sim.stop();
    throw err;
  }
}

async function waitForScreens(cloud: CloudProcess, gatewayId: string, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { screens } = await cloud.api<{ screens: { gatewayId: string }[] }>('/api/v1/screens');
    if (screens.filter((s) => s.gatewayId === gatewayId).length >= count) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the gateway's ${count} screens did not reach the cloud within 30 s; see the edge log`);
}

process.exitCode = await main();
