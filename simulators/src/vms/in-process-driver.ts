/**
 * A SignDriver straight onto a VmsScreen, without a wire: for benchmarks and tests that drive
 * many screens at once. It honours the screen's faults as the wires would (offline, slowMs,
 * refusals) and throws the same DeviceError codes as the real drivers.
 */
import { DeviceError, DeviceUnreachableError, SIGN_ERROR_CODES, checkBrightness, checkDisplayArgs, signRejected } from '@quanlink/firmware-bridge';
import type { DriverState, SignDriver, SignState } from '@quanlink/firmware-bridge';
import type { ActivationResult, VmsScreen } from './screen.js';

export function createInProcessSignDriver(screen: VmsScreen, opts: { latencyMs?: number } = {}): SignDriver {
  const latencyMs = opts.latencyMs ?? 0;
  let closed = false;
  const device = screen.id;

  /** Waits like a wire would, then fails like one when the sign is away. */
  const transact = async <T>(operation: string, act: () => T): Promise<T> => {
    if (closed) throw new DeviceUnreachableError(device, operation, 'the driver is closed');
    const delay = latencyMs + screen.faults().slowMs;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (screen.faults().offline) throw new DeviceError(SIGN_ERROR_CODES.unreachable, device, operation, 'the sign is offline');
    return act();
  };
  const settle = (operation: string, result: ActivationResult): void => {
    if (!result.ok) throw signRejected(device, operation, result.message);
  };

  return {
    get state(): DriverState {
      if (closed) return 'closed';
      return screen.faults().offline ? 'backoff' : 'connected';
    },
    async display(multi: string, crc: number): Promise<void> {
      checkDisplayArgs(device, multi, crc);
      await transact('display', () => settle('display', screen.display(multi, crc)));
    },
    async blank(): Promise<void> {
      await transact('blank', () => settle('blank', screen.blank()));
    },
    async readState(): Promise<SignState> {
      return transact('read state', () => {
        const s = screen.status();
        return {
          displayedCrc: s.displayedCrc,
          doorOpen: s.doorOpen,
          powerFault: s.powerFault,
          controllerFault: s.controllerFault,
          pixelFailures: s.pixelFailures,
          brightness: s.brightness,
        };
      });
    },
    async setBrightness(percent: number): Promise<void> {
      checkBrightness(device, percent);
      await transact('set brightness', () => screen.setBrightness(percent));
    },
    async close(): Promise<void> {
      closed = true;
    },
  };
}
