// The server routing decoders on payloads built here from known arrays: vLLM's .npy (every integer dtype NumPy's
// header can name, both byte orders, C and Fortran order, header versions 1 and 2; float dtypes refused), older
// vLLM's nested lists, SGLang's flat int32; damaged payloads refused with one clear error.
import { describe, expect, it } from 'vitest';
import { decodeSglangRouting, decodeVllmRouting, encodeSglangRouting, parseNpy } from '../../extension/engine/server-routing';
import { isEngineError } from '../../extension/engine/errors';
import { npy } from './stub-server';

// [tokens 3, layers 2, k 2] with distinct ids, C order.
const SHAPE = [3, 2, 2];
const IDS = [5, 1, 0, 7, 2, 3, 6, 4, 1, 0, 3, 2];

function refused(run: () => unknown, pattern: RegExp): void {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(isEngineError(error, 'remote-protocol')).toBe(true);
  expect((error as Error).message).toMatch(pattern);
  expect((error as Error).message).not.toContain('\n');
}

describe('vLLM .npy routing', () => {
  const integer = ['|i1', '|u1', '<i2', '>i2', '<u2', '>u2', '<i4', '>i4', '<u4', '>u4', '<i8', '>i8', '<u8', '>u8'];
  for (const descr of integer) {
    it(`decodes ${descr}`, () => {
      const values = descr.endsWith('8') ? IDS.map((v) => BigInt(v)) : IDS;
      const decoded = decodeVllmRouting(npy(descr, SHAPE, values).toString('base64'));
      expect([decoded.tokens, decoded.layers, decoded.k]).toEqual(SHAPE);
      expect(Array.from(decoded.experts)).toEqual(IDS);
    });
  }

  it('reads Fortran-order data and version-2 headers back into C order', () => {
    for (const version of [1, 2] as const) {
      const decoded = decodeVllmRouting(npy('<i4', SHAPE, IDS, { fortran: true, version }).toString('base64'));
      expect(Array.from(decoded.experts)).toEqual(IDS);
      expect(parseNpy(npy('<i4', SHAPE, IDS, { version })).shape).toEqual(SHAPE);
    }
  });

  it('parses float dtypes but refuses them as expert ids', () => {
    for (const descr of ['<f2', '<f4', '>f4', '<f8', '>f8']) {
      const parsed = parseNpy(npy(descr, [2], [1, 1]));
      expect(parsed.dtype).toBe(descr);
      expect(Array.from(parsed.values as number[])).toEqual([1, 1]);
      refused(() => decodeVllmRouting(npy(descr, SHAPE, IDS).toString('base64')), /dtype .*integers/);
    }
  });

  it('accepts older nested lists', () => {
    const nested = [0, 1, 2].map((t) => [0, 1].map((l) => [0, 1].map((r) => IDS[(t * 2 + l) * 2 + r])));
    const decoded = decodeVllmRouting(nested);
    expect(Array.from(decoded.experts)).toEqual(IDS);
  });

  it('refuses damaged payloads with one line each', () => {
    const good = npy('<i4', SHAPE, IDS);
    refused(() => decodeVllmRouting(Buffer.from('not numpy at all').toString('base64')), /not a \.npy/);
    refused(() => decodeVllmRouting(good.subarray(0, good.length - 4).toString('base64')), /fewer than its shape/);
    refused(() => decodeVllmRouting(npy('<i4', [12], IDS).toString('base64')), /expected \[tokens, layers, top-k\]/);
    refused(() => decodeVllmRouting(npy('<i4', SHAPE, IDS.map((v, i) => (i === 3 ? -1 : v))).toString('base64')), /out of range/);
    refused(() => decodeVllmRouting('@@@'), /not base64/);
    refused(() => decodeVllmRouting(42), /neither base64 nor a list/);
    refused(() => decodeVllmRouting([[[1, 2]], [[1]]]), /ragged/);
    const badVersion = Buffer.from(good);
    badVersion[6] = 9;
    refused(() => decodeVllmRouting(badVersion.toString('base64')), /version 9/);
  });
});

describe('SGLang routing', () => {
  it('decodes little-endian int32 with the shape the client knows, and round-trips the encoder', () => {
    const b64 = encodeSglangRouting(IDS);
    const raw = Buffer.from(b64, 'base64');
    expect(raw.readInt32LE(4)).toBe(IDS[1]);
    const decoded = decodeSglangRouting(b64, 2, 2);
    expect([decoded.tokens, decoded.layers, decoded.k]).toEqual(SHAPE);
    expect(Array.from(decoded.experts)).toEqual(IDS);
  });

  it('refuses a payload that is not whole tokens of the shape', () => {
    refused(() => decodeSglangRouting(encodeSglangRouting(IDS), 5, 2), /not a whole number of tokens/);
    refused(() => decodeSglangRouting(encodeSglangRouting(IDS), 0, 2), /shape .* unknown/);
  });
});
