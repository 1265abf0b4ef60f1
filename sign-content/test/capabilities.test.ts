import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  CLASSIC, checkCapabilities, SignCapabilitiesSchema, GANTRY_SIGN_192x64 as GANTRY, RAMP_SIGN_128x32 as RAMP, type SignCapabilities,
} from '@quanlink/sign-content';

const schema = TypeCompiler.Compile(SignCapabilitiesSchema);

test('issue 4: the sample signs pass the schema and the cross-field checks', () => {
  for (const caps of [RAMP, GANTRY]) {
    assert.ok(schema.Check(caps), JSON.stringify([...schema.Errors(caps)]));
    assert.deepEqual(checkCapabilities(caps), []);
  }
  assert.equal(RAMP.defaultColour, CLASSIC.amber);
});

test('issue 4: the schema refuses a malformed capabilities section', () => {
  const bad: [string, unknown][] = [
    ['colour not #rrggbb', { ...RAMP, defaultColour: 'amber' }],
    ['unknown colour scheme', { ...RAMP, colourScheme: 'rgb' }],
    ['unknown charset', { ...RAMP, charset: 'big5' }],
    ['zero width', { ...RAMP, widthPx: 0 }],
    ['no fonts', { ...RAMP, fonts: [] }],
    ['font without height', { ...RAMP, fonts: [{ number: 1, name: 'x', latinWidthPx: 8, cjkWidthPx: 16, charSpacingPx: 0 }] }],
    ['extra field', { ...RAMP, brightness: 3 }],
    ['fractional page time', { ...RAMP, defaultPageOnTimeDs: 2.5 }],
  ];
  for (const [why, value] of bad) assert.ok(!schema.Check(value), why);
});

test('issue 4: checkCapabilities finds what the schema cannot', () => {
  const caps = (over: Partial<SignCapabilities>): SignCapabilities => ({ ...RAMP, ...over });
  assert.deepEqual(checkCapabilities(caps({ defaultFont: 3 })), ['defaultFont 3 is not one of the fonts (1, 2)']);
  assert.deepEqual(checkCapabilities(caps({ fonts: [RAMP.fonts[0]!, { ...RAMP.fonts[0]!, name: 'again' }] })), ['font number 1 is defined more than once']);
  assert.deepEqual(checkCapabilities(caps({ heightPx: 24 })), ['font 2 is 32 px high, sign is 24 px high']);
  assert.deepEqual(checkCapabilities(caps({ widthPx: 24, heightPx: 32 })), ['font 2 has 32 px wide characters, sign is 24 px wide']);
  assert.deepEqual(checkCapabilities(caps({ colourScheme: 'monochrome1bit' })), ['monochromeColour is required for a monochrome1bit sign']);
  assert.deepEqual(checkCapabilities(caps({ colourScheme: 'monochrome1bit', monochromeColour: '#ffffff' })), [
    'defaultColour #ffbf00 must be the monochromeColour #ffffff on a monochrome1bit sign',
  ]);
  assert.deepEqual(checkCapabilities(caps({ colourScheme: 'monochrome1bit', monochromeColour: '#FFBF00' })), []);
  assert.deepEqual(checkCapabilities(caps({ monochromeColour: '#ffbf00' })), ['monochromeColour only applies to a monochrome1bit sign, this one is colorClassic']);
  assert.deepEqual(checkCapabilities(caps({ defaultColour: '#ffb000' })), ['defaultColour #ffb000 is not one of the classic colours on a colorClassic sign']);
  assert.deepEqual(checkCapabilities(caps({ defaultColour: 'amber' })), ["defaultColour 'amber' is not '#rrggbb'"]);
  assert.deepEqual(checkCapabilities(caps({ colourScheme: 'color24bit', defaultColour: '#ffb000' })), []);
  assert.deepEqual(checkCapabilities(caps({ colourScheme: 'color24bit', defaultColour: '#000000' })), ['defaultColour #000000 is black: nothing would light up']);
});
