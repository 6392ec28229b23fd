/** A clock the tests move by hand, for repositories that take `now` (time-dependent SQL). */
export class FakeClock {
  constructor(public current = new Date('2030-01-01T00:00:00.000Z')) {}
  readonly now = (): Date => this.current;
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}
