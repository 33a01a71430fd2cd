import { describe, expect, it } from 'vitest';
import { formatClock, fromLocalInput, plural, safeHref, toLocalInput } from './format';

describe('format', () => {
  it('formats a clock with hours only when needed', () => {
    expect([0, 5, 75, 3725].map(formatClock)).toEqual(['0:00', '0:05', '1:15', '1:02:05']);
  });

  it('pluralizes counts', () => {
    expect(plural(1, 'listener')).toBe('1 listener');
    expect(plural(0, 'listener')).toBe('0 listeners');
    expect(plural(2, 'person', 'people')).toBe('2 people');
  });

  it('makes only http(s) links clickable', () => {
    expect(safeHref('https://dj.example/set')).toBe('https://dj.example/set');
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('data:text/html,hi')).toBeNull();
    expect(safeHref('not a url')).toBeNull();
    expect(safeHref('')).toBeNull();
  });

  it('round-trips datetime-local values through ISO', () => {
    const d = new Date(2030, 0, 2, 20, 30);
    expect(toLocalInput(d)).toBe('2030-01-02T20:30');
    expect(fromLocalInput('2030-01-02T20:30')).toBe(d.toISOString());
    expect(fromLocalInput('')).toBe('');
  });
});
