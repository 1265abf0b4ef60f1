/**
 * `test`: one device read once through its profile, as a list of checks that pass or fail with a
 * reason naming the device and the operation. A loop detector: one poll, decoded values per lane
 * within the profile's limits, and the profile's identify checks. A guidance screen: its state
 * (displayed message CRC, faults), optionally a test message shown and read back, and a preview of
 * that message drawn with the sign renderer. A camera: a JPEG snapshot (ONVIF GetSnapshotUri, or one
 * RTSP frame) and, when a model is configured, the detector run once on it.
 */
import { writeFile } from 'node:fs/promises';
import pino, { type Logger } from 'pino';
import type { DeviceProfile } from '@quanlink/device-profiles';
import { createModbusSignDriver, DeviceError, type ProtocolDriver, type SignDriver } from '@quanlink/firmware-bridge';
import type { DeviceBinding } from '../config/index.js';
import { BusRegistry, createDriver, describeEndpoint } from '../devices/drivers.js';
import { createSignDriver } from '../signs/sign-driver.js';
import { deviceServiceUrl, OnvifCamera } from '../video/onvif.js';
import { StreamIngest } from '../video/ingest.js';
import { createOnnxDetector, type Detection, type RgbFrame } from '../video/analytics/index.js';
import { matchProfile, UnitReader } from './identify.js';

export interface TestCheck {
  /** e.g. read, identify, values, state, preview, snapshot, detect. */
  check: string;
  ok: boolean;
  /** Why it failed, or what it found; names device and operation when it failed. */
  detail: string;
}

export interface DeviceTestReport {
  device: string;
  profile: string;
  kind: string;
  /** Where it was reached (never with credentials). */
  endpoint: string;
  ok: boolean;
  checks: TestCheck[];
  /** Loop detector: decoded values, per lane ('device' for card-wide values). */
  lanes?: Record<string, Record<string, number>>;
  /** Guidance screen: what it reported. */
  sign?: { displayedCrc: number; doorOpen: boolean; powerFault: boolean; controllerFault: boolean; pixelFailures: number; brightness?: number };
  /** Camera: detections in the snapshot. */
  detections?: Pick<Detection, 'label' | 'score' | 'box'>[];
  /** Files written (preview PNG pages, snapshot JPEG). */
  files?: string[];
}

export interface DeviceTestOptions {
  gatewayId: string;
  /** A preview PNG (screens) or the snapshot JPEG (cameras) goes here. */
  out?: string;
  /** Screens: the test message (MULTI); default TEST. */
  message?: string;
  /** Screens: show the test message on the sign and read its CRC back (changes what the sign shows). */
  show?: boolean;
  /** Model paths relative to the config file. */
  resolvePath?: (path: string) => string;
  logger?: Logger;
}

export const DEFAULT_TEST_MESSAGE = 'TEST';

/** A check that runs `work`; a DeviceError or OnvifError becomes a failed check with its message. */
async function attempt<T>(checks: TestCheck[], check: string, device: string, operation: string, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (err) {
    // The driver's reconnect schedule means nothing to a one-shot test.
    const message = (err instanceof DeviceError ? err.message : `${device}: ${operation}: ${(err as Error).message}`).replace(/; next attempt in \d+ ms$/, '');
    checks.push({ check, ok: false, detail: message });
    return undefined;
  }
}

export async function testDevice(binding: DeviceBinding, profile: DeviceProfile, options: DeviceTestOptions): Promise<DeviceTestReport> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const report: DeviceTestReport = { device: binding.id, profile: profile.id, kind: profile.kind, endpoint: describeEndpoint(binding, profile), ok: false, checks: [] };
  const buses = new BusRegistry(logger);
  try {
    if (profile.kind === 'camera') await testCamera(binding, report, options, logger);
    else if (profile.kind === 'vms') await testSign(binding, profile, report, options, logger, buses);
    else await testDetector(binding, profile, report, options, logger, buses);
  } catch (err) {
    // A binding the drivers cannot take (a transport the profile does not speak): a failed test, not a crash.
    if (err instanceof DeviceError) throw err;
    report.checks.push({ check: 'setup', ok: false, detail: `${binding.id}: set up driver: ${(err as Error).message}` });
  } finally {
    await buses.closeAll();
  }
  report.ok = report.checks.length > 0 && report.checks.every((c) => c.ok);
  return report;
}

async function identifyCheck(driver: ProtocolDriver, binding: DeviceBinding, profile: DeviceProfile, report: DeviceTestReport): Promise<void> {
  if (!profile.identify) return;
  const result = await matchProfile(new UnitReader(driver, report.endpoint), profile);
  report.checks.push(
    'confidence' in result
      ? { check: 'identify', ok: true, detail: `matches ${profile.id} (${result.confidence === 'high' ? 'model id' : 'register layout'})` }
      : { check: 'identify', ok: false, detail: `${binding.id}: identify as ${profile.id}: ${result.reason}` },
  );
}

async function testDetector(binding: DeviceBinding, profile: DeviceProfile, report: DeviceTestReport, options: DeviceTestOptions, logger: Logger, buses: BusRegistry): Promise<void> {
  const driver = createDriver(binding, profile, options.gatewayId, logger, buses);
  try {
    const raw = await attempt(report.checks, 'read', binding.id, 'read all points', () => driver.read(profile.points.map((p) => ({ key: p.key, wire: p.wire }))));
    if (!raw) return;
    report.checks.push({ check: 'read', ok: true, detail: `${profile.points.length} points read` });
    const lanes: Record<string, Record<string, number>> = {};
    const outOfRange: string[] = [];
    for (const point of profile.points) {
      const value = Math.round(((raw.get(point.key) ?? 0) * point.scale + point.offset) * 1e6) / 1e6;
      (lanes[point.lane === undefined ? 'device' : String(point.lane)] ??= {})[point.resource] = value;
      if ((point.min !== undefined && value < point.min) || (point.max !== undefined && value > point.max)) outOfRange.push(`${point.key} = ${value} (allowed ${point.min ?? '-inf'}..${point.max ?? 'inf'})`);
    }
    report.lanes = lanes;
    report.checks.push(
      outOfRange.length === 0
        ? { check: 'values', ok: true, detail: 'every value within the profile limits' }
        : { check: 'values', ok: false, detail: `${binding.id}: read all points: outside the profile limits: ${outOfRange.join(', ')}` },
    );
    await identifyCheck(driver, binding, profile, report);
  } finally {
    await driver.close();
  }
}

async function testSign(binding: DeviceBinding, profile: DeviceProfile, report: DeviceTestReport, options: DeviceTestOptions, logger: Logger, buses: BusRegistry): Promise<void> {
  const content = await import('@quanlink/sign-content');
  const caps = profile.sign!.capabilities;
  const multi = options.message ?? DEFAULT_TEST_MESSAGE;
  // The message first: it is checked and drawn without the sign, so a preview works even when the sign is away.
  let parsed: ReturnType<typeof content.parseMulti> | undefined;
  try {
    parsed = content.parseMulti(multi, content.defaultsFor(caps));
    const problems = [...content.checkMultiLength(multi, caps), ...content.checkContent(parsed, caps)];
    report.checks.push(
      problems.length === 0
        ? { check: 'message', ok: true, detail: `test message fits ${profile.id}` }
        : { check: 'message', ok: false, detail: `${binding.id}: check test message: ${problems.map((p) => p.message).join('; ')}` },
    );
  } catch (err) {
    report.checks.push({ check: 'message', ok: false, detail: `${binding.id}: check test message: ${(err as Error).message}` });
  }
  if (parsed && options.out) {
    const out = options.out;
    const written = await attempt(report.checks, 'preview', binding.id, `render preview to ${out}`, async () => {
      const pages = await content.renderPages(parsed!, caps, { scale: 4 });
      const files = pages.map((_, i) => (i === 0 ? out : out.replace(/(\.png)?$/i, `-${i + 1}.png`)));
      await Promise.all(pages.map((png, i) => writeFile(files[i]!, png)));
      return files;
    });
    if (written) {
      report.files = written;
      report.checks.push({ check: 'preview', ok: true, detail: `${written.length} page(s) drawn to ${written.join(', ')}` });
    }
  }

  let sign: SignDriver;
  let identifyDriver: ProtocolDriver | undefined;
  if (binding.transport.kind === 'mqtt') sign = createSignDriver(binding, profile, options.gatewayId, logger, buses);
  else {
    const wire = profile.sign?.modbus;
    if (!wire) throw new TypeError(`profile ${profile.id} describes no Modbus sign registers (sign.modbus), so it cannot be driven over ${binding.transport.kind}`);
    // One driver for the sign and the identify reads: one connection to the device.
    identifyDriver = createDriver(binding, profile, options.gatewayId, logger, buses);
    sign = createModbusSignDriver({ device: binding.id, driver: identifyDriver, wire, logger });
  }
  try {
    const state = await attempt(report.checks, 'state', binding.id, 'read state', () => sign.readState());
    if (!state) return;
    report.sign = { ...state };
    const faults = (['doorOpen', 'powerFault', 'controllerFault'] as const).filter((f) => state[f]);
    report.checks.push(
      faults.length === 0
        ? { check: 'state', ok: true, detail: `displayed CRC 0x${state.displayedCrc.toString(16).padStart(4, '0')}${state.displayedCrc === 0 ? ' (blank)' : ''}, ${state.pixelFailures} failed pixels` }
        : { check: 'state', ok: false, detail: `${binding.id}: read state: ${faults.join(', ')}` },
    );
    if (identifyDriver) await identifyCheck(identifyDriver, binding, profile, report);
    if (options.show && parsed) {
      const crc = content.crcOfDisplayed(multi);
      const shown = await attempt(report.checks, 'show', binding.id, 'display test message', async () => {
        await sign.display(multi, crc);
        return sign.readState();
      });
      if (shown) {
        report.checks.push(
          shown.displayedCrc === crc
            ? { check: 'show', ok: true, detail: `test message shown, CRC 0x${crc.toString(16).padStart(4, '0')} read back` }
            : { check: 'show', ok: false, detail: `${binding.id}: display test message: read back CRC 0x${shown.displayedCrc.toString(16)}, expected 0x${crc.toString(16)}` },
        );
      }
    }
  } finally {
    await sign.close();
  }
}

async function testCamera(binding: DeviceBinding, report: DeviceTestReport, options: DeviceTestOptions, logger: Logger): Promise<void> {
  const { transport } = binding;
  let jpeg: Buffer | undefined;
  if (transport.kind === 'onvif') {
    const xaddr = deviceServiceUrl(transport.host, transport.port);
    const camera = await attempt(report.checks, 'connect', binding.id, 'ONVIF connect', () =>
      OnvifCamera.connect({ xaddr, ...(transport.username !== undefined ? { username: transport.username } : {}), ...(transport.password !== undefined ? { password: transport.password } : {}), timeoutMs: transport.timeoutMs ?? 5000 }),
    );
    if (!camera) return;
    const info = camera.info();
    report.checks.push({ check: 'connect', ok: true, detail: `${[info.manufacturer, info.model, info.firmware].filter(Boolean).join(' ') || 'ONVIF device'}, ${camera.profiles().length} media profile(s)` });
    jpeg = await attempt(report.checks, 'snapshot', binding.id, 'GetSnapshotUri', () => camera.snapshot(transport.profileToken));
  } else if (transport.kind === 'rtsp') {
    jpeg = await attempt(report.checks, 'snapshot', binding.id, 'RTSP frame', async () => {
      const frame = await oneRtspFrame(binding.id, transport, logger);
      const sharp = (await import('sharp')).default;
      return sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
    });
  } else {
    report.checks.push({ check: 'connect', ok: false, detail: `${binding.id}: test: a camera is reached over onvif or rtsp, not ${transport.kind}` });
    return;
  }
  if (!jpeg) return;
  const files: string[] = [];
  if (options.out) {
    await writeFile(options.out, jpeg);
    files.push(options.out);
    report.files = files;
  }
  report.checks.push({ check: 'snapshot', ok: true, detail: `JPEG of ${jpeg.length} bytes${options.out ? ` written to ${options.out}` : ''}` });
  const model = binding.video?.model;
  if (!model) return;
  const detections = await attempt(report.checks, 'detect', binding.id, `run detector ${model.path}`, async () => {
    const detector = await createOnnxDetector({
      modelPath: options.resolvePath?.(model.path) ?? model.path,
      decoder: model.decoder,
      ...(model.sha256 !== undefined ? { sha256: model.sha256 } : {}),
      ...(model.labelsPath !== undefined ? { labelsPath: options.resolvePath?.(model.labelsPath) ?? model.labelsPath } : {}),
      ...(model.scoreThreshold !== undefined ? { scoreThreshold: model.scoreThreshold } : {}),
    });
    try {
      const sharp = (await import('sharp')).default;
      const { inputWidth: width, inputHeight: height } = detector;
      const data = await sharp(jpeg).resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer();
      return await detector.detect({ data, width, height, ts: Date.now() });
    } finally {
      await detector.close();
    }
  });
  if (!detections) return;
  report.detections = detections.map(({ label, score, box }) => ({ label, score: Math.round(score * 1000) / 1000, box: box.map((v) => Math.round(v)) as Detection['box'] }));
  report.checks.push({ check: 'detect', ok: true, detail: `${detections.length} detection(s)${detections.length ? `: ${detections.map((d) => `${d.label} ${d.score.toFixed(2)}`).join(', ')}` : ''}` });
}

/** One decoded frame of an RTSP stream (ffmpeg), or a clear error after 20 s. */
async function oneRtspFrame(device: string, transport: Extract<DeviceBinding['transport'], { kind: 'rtsp' }>, logger: Logger): Promise<RgbFrame> {
  let ingest: StreamIngest | undefined;
  try {
    return await new Promise<RgbFrame>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no frame from ${transport.url} within 20 s`)), 20_000);
      ingest = new StreamIngest({
        camera: device,
        url: transport.url,
        ...(transport.username !== undefined ? { username: transport.username } : {}),
        ...(transport.password !== undefined ? { password: transport.password } : {}),
        width: 640,
        height: 360,
        fps: 2,
        logger,
        onFrame: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
        onState: (state, problem) => {
          if (state === 'error' && problem) {
            clearTimeout(timer);
            reject(new Error(problem.message));
          }
        },
      });
      ingest.start();
    });
  } finally {
    await ingest?.stop();
  }
}

