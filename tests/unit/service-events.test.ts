import { describe, expect, it } from 'vitest';
import {
  appendServiceEvents,
  DUPLICATE_EVENT_SUPPRESSION_MS,
} from '../../worker/core/services/service-events';

let ids = 0;
const newId = () => `e${++ids}`;
const T0_MS = 1_800_000_000_000;

describe('a service event log', () => {
  it('keeps the newest first and at most 100', () => {
    const messages = Array.from({ length: 150 }, (_, i) => `m${i}`);
    const log = appendServiceEvents([], messages, T0_MS, newId);
    expect(log).toHaveLength(100);
    expect(log[0].message).toBe('m149');
    expect(log[99].message).toBe('m50');
  });

  it('suppresses a message equal to the newest one for 6 hours, but not after another message', () => {
    const once = appendServiceEvents([], ['steady'], T0_MS, newId);
    expect(appendServiceEvents(once, ['steady'], T0_MS + 1_000, newId)).toHaveLength(1);
    expect(appendServiceEvents(once, ['steady'], T0_MS + DUPLICATE_EVENT_SUPPRESSION_MS, newId)).toHaveLength(
      2,
    );
    expect(
      appendServiceEvents(once, ['started', 'steady'], T0_MS + 1_000, newId).map((e) => e.message),
    ).toEqual(['steady', 'started', 'steady']);
  });
});
