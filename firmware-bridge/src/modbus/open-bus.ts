/** Opening an RTU bus on a serial port, or through a serial-to-Ethernet converter. */
import { RtuBus, type ModbusBus, type ModbusBusOptions } from './rtu-bus.js';
import { serialLineOpener, tcpLineOpener } from './rtu-line.js';
import { rtuCharTimeMs, rtuInterFrameSilenceMs, type Parity, type SerialFraming } from './rtu-timing.js';

export interface SerialBusOptions extends ModbusBusOptions {
  /** e.g. /dev/ttyUSB0. */
  path: string;
  /** Default 9600. */
  baudRate?: number;
  /** Default 'none'. */
  parity?: Parity;
  /** RTU sends 8 data bits (Serial Line §2.5.1). */
  dataBits?: 8;
  /** Default 1. */
  stopBits?: 1 | 2;
}

export interface RtuOverTcpBusOptions extends ModbusBusOptions {
  /** The converter. */
  host: string;
  port: number;
  /**
   * Baud rate of the serial line behind the converter, default 9600: it sets the default silence
   * between frames and the time frames take on the wire.
   */
  baudRate?: number;
}

const PARITIES: readonly Parity[] = ['none', 'even', 'odd'];

function checkFraming(where: string, { baudRate, parity, dataBits, stopBits }: SerialFraming): void {
  if (!Number.isInteger(baudRate) || baudRate < 300 || baudRate > 4_000_000) throw new RangeError(`${where}: baudRate must be an integer 300..4000000, got ${baudRate}`);
  if (parity !== undefined && !PARITIES.includes(parity)) throw new RangeError(`${where}: parity must be none, even or odd, got ${String(parity)}`);
  if (dataBits !== undefined && dataBits !== 8) throw new RangeError(`${where}: RTU needs 8 data bits (Serial Line §2.5.1), got ${String(dataBits)}`);
  if (stopBits !== undefined && stopBits !== 1 && stopBits !== 2) throw new RangeError(`${where}: stopBits must be 1 or 2, got ${String(stopBits)}`);
}

/** A bus on a local serial port (an RS-485 adapter); it opens in the background and reopens after a failure. */
export function openSerialBus(options: SerialBusOptions): ModbusBus {
  const { path, baudRate = 9600, parity = 'none', stopBits = 1 } = options;
  if (typeof path !== 'string' || path === '') throw new TypeError('modbus serial bus: path is missing');
  const framing: SerialFraming = { baudRate, parity, dataBits: 8, stopBits };
  checkFraming(`modbus serial bus ${path}`, { ...framing, dataBits: options.dataBits ?? 8 });
  return new RtuBus(
    {
      name: path,
      endpoint: { kind: 'modbus-rtu', path, unitId: 1, baudRate, parity, stopBits },
      open: serialLineOpener({ path, ...framing }),
      charTimeMs: rtuCharTimeMs(framing),
      silenceMs: rtuInterFrameSilenceMs(framing),
    },
    options,
  );
}

/** A bus behind a serial-to-Ethernet converter that passes RTU frames through a TCP connection; reconnects with backoff. */
export function openRtuOverTcpBus(options: RtuOverTcpBusOptions): ModbusBus {
  const { host, port, baudRate = 9600 } = options;
  const name = `${host}:${port}`;
  if (typeof host !== 'string' || host === '') throw new TypeError('modbus rtu-over-tcp bus: host is missing');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`modbus rtu-over-tcp bus ${name}: port ${port} is outside 1..65535`);
  const framing: SerialFraming = { baudRate };
  checkFraming(`modbus rtu-over-tcp bus ${name}`, framing);
  return new RtuBus(
    {
      name,
      endpoint: { kind: 'modbus-rtu-tcp', host, port, unitId: 1 },
      open: tcpLineOpener({ host, port }),
      charTimeMs: rtuCharTimeMs(framing),
      silenceMs: rtuInterFrameSilenceMs(framing),
    },
    options,
  );
}
