import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeModbusEndpoint } from '../../src/modbus/endpoint.js';

describe('Modbus endpoint URIs for birth messages', () => {
  it('describes TCP, RTU over TCP and serial endpoints', () => {
    assert.equal(describeModbusEndpoint({ kind: 'modbus-tcp', host: '10.0.0.5', port: 502 }), 'modbus-tcp://10.0.0.5:502/1');
    assert.equal(describeModbusEndpoint({ kind: 'modbus-rtu-tcp', host: '10.0.0.9', port: 4001, unitId: 3 }), 'modbus-rtu-tcp://10.0.0.9:4001/3');
    assert.equal(describeModbusEndpoint({ kind: 'modbus-rtu', path: '/dev/ttyUSB0', unitId: 3 }), 'modbus-rtu:///dev/ttyUSB0?unit=3&baud=9600');
  });

  it('names parity and stop bits only when the line is not 8N1; brackets IPv6 hosts', () => {
    assert.equal(
      describeModbusEndpoint({ kind: 'modbus-rtu', path: '/dev/ttyS1', unitId: 12, baudRate: 19200, parity: 'even', stopBits: 1 }),
      'modbus-rtu:///dev/ttyS1?unit=12&baud=19200&parity=even',
    );
    assert.equal(describeModbusEndpoint({ kind: 'modbus-rtu', path: 'COM3', unitId: 1, stopBits: 2 }), 'modbus-rtu:///COM3?unit=1&baud=9600&stop=2');
    assert.equal(describeModbusEndpoint({ kind: 'modbus-rtu-tcp', host: 'fd00::7', port: 502, unitId: 1 }), 'modbus-rtu-tcp://[fd00::7]:502/1');
  });
});
