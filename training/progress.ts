/**
 * Progress lines for long training and evaluation steps on stderr: a
 * redrawn line on a TTY, and a line every 10% otherwise, so CI logs stay
 * short.
 */
export class Progress {
  private count = 0;
  private lastPercent = -1;
  private readonly started = performance.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  tick(): void {
    this.count += 1;
    const percent = this.total ? Math.floor((100 * this.count) / this.total) : 100;
    if (process.stderr.isTTY) {
      if (percent !== this.lastPercent) process.stderr.write(`\r${this.label}: ${this.count}/${this.total} (${percent}%)`);
    } else if (percent % 10 === 0 && percent !== this.lastPercent) {
      process.stderr.write(`${this.label}: ${this.count}/${this.total} (${percent}%)\n`);
    }
    this.lastPercent = percent;
  }

  done(): void {
    const seconds = (performance.now() - this.started) / 1000;
    process.stderr.write(`${process.stderr.isTTY ? '\r' : ''}${this.label}: ${this.count}/${this.total} done in ${seconds.toFixed(1)} s\n`);
  }
}
