/**
 * The message CRC of NTCIP 1203 (dmsMessageCRC): CRC-16 of ISO/IEC 3309, i.e. the CRC-16/X-25
 * parameters (polynomial 0x1021 reflected = 0x8408, init 0xFFFF, reflected in and out, xorout
 * 0xFFFF), over the UTF-8 bytes of the MULTI followed by the beacon and pixel-service bytes.
 */

/** By convention a blank screen (empty MULTI) reports CRC 0, not the CRC of the empty string. */
export const BLANK_CRC = 0;

export function crc16x25(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x8408 : crc >>> 1;
  }
  return (crc ^ 0xffff) & 0xffff;
}

export function messageCrc(multi: string, beacon = 0, pixelService = 0): number {
  const text = Buffer.from(multi, 'utf8');
  const bytes = new Uint8Array(text.length + 2);
  bytes.set(text);
  bytes[text.length] = beacon & 0xff;
  bytes[text.length + 1] = pixelService & 0xff;
  return crc16x25(bytes);
}

/** The CRC a screen reports for what it shows: BLANK_CRC for blank, else messageCrc. */
export function crcOfDisplayed(multi: string): number {
  return multi === '' ? BLANK_CRC : messageCrc(multi);
}
