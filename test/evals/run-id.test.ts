import { describe, expect, it } from 'vitest';
import { runFolderName } from '../../extension/evals/run-id';

describe('run folder name', () => {
  it('is the suite and the UTC start to the second, whatever the local time zone', () => {
    expect(runFolderName('builtin', new Date(Date.UTC(2026, 11, 7, 3, 4, 5, 678)))).toBe('builtin-20261207-030405Z');
    expect(runFolderName('s', new Date('2026-01-31T23:59:59.999+02:00'))).toBe('s-20260131-215959Z');
  });
});
