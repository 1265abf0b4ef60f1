/** RTU character timing (Modbus over Serial Line V1.02 §2.5.1, §2.5.1.1). */

export type Parity = 'none' | 'even' | 'odd';

export interface SerialFraming {
  baudRate: number;
  parity?: Parity;
  /** RTU characters carry 8 data bits (§2.5.1). */
  dataBits?: 8;
  stopBits?: 1 | 2;
}

/** Milliseconds one character takes on the line: start bit, 8 data bits, parity bit if any, stop bits. */
export function rtuCharTimeMs({ baudRate, parity = 'none', dataBits = 8, stopBits = 1 }: SerialFraming): number {
  const bits = 1 + dataBits + (parity === 'none' ? 0 : 1) + stopBits;
  return (bits * 1000) / baudRate;
}

/**
 * The silence that separates two frames, t3.5 (§2.5.1.1): 3.5 character times, and a fixed
 * 1.75 ms above 19200 baud, where the spec stops scaling it with the baud rate.
 */
export function rtuInterFrameSilenceMs(framing: SerialFraming): number {
  return framing.baudRate > 19200 ? 1.75 : 3.5 * rtuCharTimeMs(framing);
}
