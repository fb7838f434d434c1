import { describe, expect, it } from 'vitest';
import { EcsError } from '../../worker/core/errors';
import { encodeToken, MAX_PAGE_OFFSET, readPage } from '../../worker/core/pagination';

function errorOf(nextToken: string): EcsError {
  try {
    readPage({ nextToken }, 100, 100);
  } catch (error) {
    if (error instanceof EcsError) return error;
    throw error;
  }
  throw new Error(`expected nextToken '${nextToken}' to be refused`);
}

describe('nextToken', () => {
  it('reads back the offset it encoded', () => {
    for (const offset of [0, 1, 100, 123_456, MAX_PAGE_OFFSET]) {
      expect(readPage({ nextToken: encodeToken(offset) }, 100, 100).offset).toBe(offset);
    }
  });

  it('refuses a token encoding an offset too large to be real with an InvalidParameterException', () => {
    const forged = [
      'bzo5OTk5OTk5OTk5OTk5OTk5OTk5OQ', // o:99999999999999999999, from the probe
      encodeToken(MAX_PAGE_OFFSET + 1),
      encodeToken(Number.MAX_SAFE_INTEGER),
      btoa(`o:${'9'.repeat(400)}`),
    ];
    for (const token of forged) {
      const error = errorOf(token);
      expect(error.errorName).toBe('InvalidParameterException');
      expect(error.message).toBe('nextToken: is not a token returned by a previous call');
    }
  });

  it('refuses tokens it could never have written', () => {
    for (const token of [
      btoa('o:-1'),
      btoa('o:1e5'),
      btoa('o:007'),
      btoa('o:1.5'),
      btoa('o: 1'),
      '!!',
      'bzox\u0000',
    ]) {
      expect(errorOf(token).errorName).toBe('InvalidParameterException');
    }
  });
});
