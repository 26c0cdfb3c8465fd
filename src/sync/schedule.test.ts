import { describe, expect, it } from 'vitest';
import { Schedule } from './schedule.js';

describe('Schedule', () => {
  it('pops due items in time order and keeps the earliest schedule of an id', () => {
    const s = new Schedule();
    s.put('a', 30);
    s.put('b', 10);
    s.put('c', 20);
    s.put('a', 5); // earlier wins
    s.put('b', 50); // later is ignored without force
    expect(s.size).toBe(3);
    expect(s.popDue(100)).toBe('a');
    expect(s.popDue(100)).toBe('b');
    expect(s.popDue(15)).toBeUndefined();
    expect(s.peekDue()).toBe(20);
    expect(s.popDue(20)).toBe('c');
    expect(s.size).toBe(0);
  });

  it('force reschedules later; delete drops', () => {
    const s = new Schedule();
    s.put('a', 1);
    s.put('a', 100, true);
    expect(s.popDue(50)).toBeUndefined();
    s.put('b', 2);
    s.delete('b');
    expect(s.popDue(1000)).toBe('a');
    expect(s.popDue(1000)).toBeUndefined();
  });
});
