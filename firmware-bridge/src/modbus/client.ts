/**
 * A small typed adapter over modbus-serial, the only file that knows its shapes. We open the TCP
 * socket ourselves and lend it to modbus-serial for MBAP framing and transaction matching, so
 * that connecting, closing and timeouts stay in our hands (and close() leaves nothing running).
 */
import type net from 'node:net';
import M from 'modbus-serial';
import { DeviceError, DeviceProtocolError, DeviceUnreachableError, ModbusExceptionError, messageOf } from '../errors.js';
import { isBitTable } from './codec.js';
import { openSocket, type SocketOptions } from './tcp-socket.js';
import type { ModbusTable } from './wire.js';

// modbus-serial's typings and runtime disagree on the default export (see DESIGN.md).
type ModbusRTUClass = typeof M.default;
const ModbusRTU = ((M as unknown as { default?: unknown }).default ?? M) as ModbusRTUClass;

/** One open Modbus TCP connection to one unit. */
export interface ModbusTcpConnection {
  /** Reads registers, or bits as 0/1, from any table. */
  read(table: ModbusTable, address: number, count: number): Promise<number[]>;
  /** FC5. */
  writeCoil(address: number, on: boolean): Promise<void>;
  /** FC6 for one word, FC16 for more, so that the words of a 32/64-bit value change together. */
  writeRegisters(address: number, words: readonly number[]): Promise<void>;
  /** FC16 always, even for one word (a block write of holding registers). */
  writeMultipleRegisters(address: number, words: readonly number[]): Promise<void>;
  /** Calls `listener` once when the socket closes, whoever closed it (at once if it already has). */
  onClose(listener: () => void): void;
  /** Closes the socket; resolves once it is closed. */
  destroy(): Promise<void>;
}

export interface ConnectOptions extends SocketOptions {
  unitId: number;
}

export async function connectModbusTcp(options: ConnectOptions): Promise<ModbusTcpConnection> {
  const socket = await openSocket(options);
  socket.setNoDelay(true);
  const client = new ModbusRTU();
  // Errors surface through the requests and the socket's close; an unheard 'error' event would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connectTCP(options.host, { port: options.port, socket });
  } catch (err) {
    socket.destroy();
    throw err;
  }
  client.setID(options.unitId);
  return new Connection(client, socket);
}

class Connection implements ModbusTcpConnection {
  constructor(
    private readonly client: InstanceType<ModbusRTUClass>,
    private readonly socket: net.Socket,
  ) {}

  async read(table: ModbusTable, address: number, count: number): Promise<number[]> {
    if (isBitTable(table)) {
      const result = table === 'coil' ? await this.client.readCoils(address, count) : await this.client.readDiscreteInputs(address, count);
      return result.data.map((bit) => (bit ? 1 : 0));
    }
    const result = table === 'holding-register' ? await this.client.readHoldingRegisters(address, count) : await this.client.readInputRegisters(address, count);
    return result.data;
  }

  async writeCoil(address: number, on: boolean): Promise<void> {
    await this.client.writeCoil(address, on);
  }

  async writeRegisters(address: number, words: readonly number[]): Promise<void> {
    if (words.length === 1) await this.client.writeRegister(address, words[0]!);
    else await this.client.writeRegisters(address, [...words]);
  }

  async writeMultipleRegisters(address: number, words: readonly number[]): Promise<void> {
    await this.client.writeRegisters(address, [...words]);
  }

  onClose(listener: () => void): void {
    if (this.socket.closed) queueMicrotask(listener);
    else this.socket.once('close', () => listener());
  }

  async destroy(): Promise<void> {
    if (this.socket.closed) return;
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    this.socket.destroy();
    await closed;
  }
}

/** Maps what modbus-serial rejects with to our errors. */
export function toDeviceError(err: unknown, device: string, operation: string): DeviceError {
  if (err instanceof DeviceError) return err;
  const modbusCode = (err as { modbusCode?: unknown } | null)?.modbusCode;
  if (typeof modbusCode === 'number') return new ModbusExceptionError(modbusCode, device, operation, { cause: err });
  const message = messageOf(err);
  if (message === 'Port Not Open') return new DeviceUnreachableError(device, operation, 'not connected', { cause: err });
  // Data length, unexpected unit or function, CRC (of the MBAP-to-RTU conversion): a malformed answer.
  return new DeviceProtocolError(device, operation, message, { cause: err });
}
