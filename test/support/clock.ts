import type { Clock } from '../../src/clock.js';

/**
 * Real time moved by an offset: deadlines and timers still run at the real pace, while whatever
 * reads the date (model lifecycles, retention, sessions) sees another day. A test that fixes a date
 * gives this one clock to everything it starts, so nothing in it depends on today's date.
 */
export class ShiftedClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  /** Noon UTC of this day, from now on. */
  setDay(isoDay: string): this {
    this.offsetMs = Date.parse(`${isoDay}T12:00:00Z`) - Date.now();
    return this;
  }
}
