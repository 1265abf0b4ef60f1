import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rtuCharTimeMs, rtuInterFrameSilenceMs } from '../../src/modbus/rtu-timing.js';

const near = (actual: number, expected: number): void => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} is not ${expected}`);

describe('RTU character timing (Modbus over Serial Line V1.02 §2.5.1, §2.5.1.1)', () => {
  it('§2.5.1 a character is 1 start + 8 data + parity + stop bits', () => {
    near(rtuCharTimeMs({ baudRate: 9600 }), 10 / 9.6);
    near(rtuCharTimeMs({ baudRate: 9600, parity: 'even' }), 11 / 9.6);
    near(rtuCharTimeMs({ baudRate: 9600, stopBits: 2 }), 11 / 9.6);
  });

  it('§2.5.1.1 t3.5 is 3.5 characters up to 19200 baud, a fixed 1.75 ms above', () => {
    near(rtuInterFrameSilenceMs({ baudRate: 9600 }), 3.5 * (10 / 9.6));
    near(rtuInterFrameSilenceMs({ baudRate: 19200, parity: 'even' }), 3.5 * (11 / 19.2));
    near(rtuInterFrameSilenceMs({ baudRate: 38400 }), 1.75);
    near(rtuInterFrameSilenceMs({ baudRate: 115200 }), 1.75);
  });
});
