import type { Clock } from '../../src/services/ports.js';

/** A clock the test moves by hand: no sleeping on real time. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: string | Date = new Date()) {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  advance(ms: number): void {
    this.current += ms;
  }

  advanceHours(hours: number): void {
    this.advance(hours * 3_600_000);
  }

  advanceDays(days: number): void {
    this.advance(days * 86_400_000);
  }

  set(time: string | Date): void {
    this.current = new Date(time).getTime();
  }
}
