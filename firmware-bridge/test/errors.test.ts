import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DeviceError,
  DeviceProtocolError,
  DeviceTimeoutError,
  DeviceUnreachableError,
  errorInfo,
  ModbusExceptionError,
} from '../src/errors.js';

describe('device errors', () => {
  it('name every exception of Modbus App Protocol 1.1b3 §7', () => {
    const names: [number, string][] = [
      [1, 'ModbusIllegalFunction'],
      [2, 'ModbusIllegalDataAddress'],
      [3, 'ModbusIllegalDataValue'],
      [4, 'ModbusServerDeviceFailure'],
      [5, 'ModbusAcknowledge'],
      [6, 'ModbusServerDeviceBusy'],
      [8, 'ModbusMemoryParityError'],
      [10, 'ModbusGatewayPathUnavailable'],
      [11, 'ModbusGatewayTargetFailedToRespond'],
      [7, 'ModbusException7'],
    ];
    for (const [code, name] of names) {
      const err = new ModbusExceptionError(code, 'vms-3', 'write holding-register 40');
      assert.equal(err.code, name);
      assert.equal(err.exceptionCode, code);
      assert.ok(err instanceof DeviceError);
    }
  });

  it('say device, operation and problem in that order', () => {
    assert.equal(new DeviceTimeoutError('lc-1', 'read input-register 100+40', 1000).message, 'lc-1: read input-register 100+40: no answer within 1000 ms');
    assert.equal(new DeviceUnreachableError('lc-1', 'connect', 'refused').message, 'lc-1: connect: refused');
    assert.equal(new DeviceProtocolError('lc-1', 'read coil 0+8', 'short answer').code, 'DeviceProtocolError');
  });

  it('become ErrorInfo, and so does anything else thrown', () => {
    assert.deepEqual(errorInfo(new DeviceTimeoutError('lc-1', 'read coil 0+1', 50)), {
      code: 'DeviceTimeout',
      message: 'lc-1: read coil 0+1: no answer within 50 ms',
      operation: 'read coil 0+1',
    });
    assert.deepEqual(errorInfo(new TypeError('x is undefined')), { code: 'InternalError', message: 'x is undefined' });
    assert.deepEqual(errorInfo('plain string'), { code: 'InternalError', message: 'plain string' });
    assert.equal(errorInfo(new DeviceError('Custom', 'd', 'op', 'x'.repeat(5000))).message.length, 2000);
  });
});
