import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deadlines, type DeadlineReason } from '../../src/store/deadlines.js';

describe('Deadlines', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  /** Creates a Deadlines of 50 ms on the fake clock, and a map for the reasons its calls end with, by call name. */
  function setup(): { deadlines: Deadlines; ended: Map<string, DeadlineReason> } {
    const ended = new Map<string, DeadlineReason>();
    return { deadlines: new Deadlines(50, () => Date.now()), ended };
  }

  it('times out after timeoutMs', () => {
    const { deadlines, ended } = setup();
    deadlines.add((reason) => ended.set('a', reason));
    vi.advanceTimersByTime(49);
    expect(ended.size).toBe(0);
    vi.advanceTimersByTime(1);
    expect(ended.get('a')).toBe('timeout');
    expect(deadlines.size).toBe(0);
  });

  it('skips removed calls', () => {
    const { deadlines, ended } = setup();
    const entry = deadlines.add((reason) => ended.set('a', reason));
    deadlines.remove(entry);
    vi.advanceTimersByTime(100);
    expect(ended.size).toBe(0);
  });

  it('times out later calls on their own deadline', () => {
    const { deadlines, ended } = setup();
    deadlines.add((reason) => ended.set('a', reason));
    vi.advanceTimersByTime(30);
    deadlines.add((reason) => ended.set('b', reason));
    vi.advanceTimersByTime(20);
    expect(ended.get('a')).toBe('timeout');
    expect(ended.has('b')).toBe(false);
    vi.advanceTimersByTime(29);
    expect(ended.has('b')).toBe(false);
    vi.advanceTimersByTime(1);
    expect(ended.get('b')).toBe('timeout');
  });

  it('keeps one timer for many calls', () => {
    const { deadlines } = setup();
    for (let call = 0; call < 100; call += 1) deadlines.remove(deadlines.add(() => undefined));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(50);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends open calls on close', () => {
    const { deadlines, ended } = setup();
    deadlines.add((reason) => ended.set('a', reason));
    deadlines.close();
    expect(ended.get('a')).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(100);
    expect(ended.get('a')).toBe('closed');
  });
});
