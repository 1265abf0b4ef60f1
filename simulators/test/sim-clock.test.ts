import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SimClock } from '../src/sim-clock.js';

describe('SimClock', () => {
  it('advances with wall time times the scale and stands still while paused', () => {
    let wall = 1000;
    const clock = new SimClock(10, false, () => wall);
    wall += 500;
    assert.equal(clock.nowS(), 5);
    clock.pause();
    wall += 10_000;
    assert.equal(clock.nowS(), 5);
    assert.equal(clock.running, false);
    clock.resume();
    wall += 100;
    assert.equal(clock.nowS(), 6);
  });
  it('can start paused at 0; pause and resume twice are harmless', () => {
    let wall = 0;
    const clock = new SimClock(1, true, () => wall);
    wall += 1000;
    assert.equal(clock.nowS(), 0);
    clock.resume();
    clock.resume();
    wall += 2000;
    clock.pause();
    clock.pause();
    assert.equal(clock.nowS(), 2);
  });
  it('rejects a time scale that is not a positive number', () => {
    assert.throws(() => new SimClock(0), /timeScale must be a positive number, got 0/);
    assert.throws(() => new SimClock(Number.NaN), /timeScale/);
  });
});
