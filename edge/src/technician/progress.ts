/**
 * Progress of long work on stderr: a bar redrawn in place on a terminal, else a plain line now and
 * then (logs and CI), so stdout stays clean for tables and --json.
 */
import type { WriteStream } from 'node:tty';

export interface ProgressOptions {
  /** Default process.stderr. */
  stream?: NodeJS.WritableStream & Partial<Pick<WriteStream, 'isTTY' | 'columns'>>;
  /** Plain mode: a line at most this often (default 2000 ms), and at the end. */
  lineEveryMs?: number;
  /** Nothing at all (--quiet). */
  silent?: boolean;
}

export class Progress {
  private done = 0;
  private lastLineAt = 0;
  private readonly stream: NonNullable<ProgressOptions['stream']>;
  private readonly tty: boolean;
  private finished = false;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly options: ProgressOptions = {},
  ) {
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    this.lastLineAt = Date.now();
  }

  /** One more unit of work done; `note` says what (shown on the terminal bar). */
  tick(note = ''): void {
    this.done = Math.min(this.total, this.done + 1);
    if (this.options.silent) return;
    if (this.tty) this.draw(note);
    else if (Date.now() - this.lastLineAt >= (this.options.lineEveryMs ?? 2000)) {
      this.lastLineAt = Date.now();
      this.stream.write(`${this.label}: ${this.done}/${this.total}${note ? ` (${note})` : ''}\n`);
    }
  }

  /** Ends the bar (or writes the last line) with a summary. */
  finish(summary: string): void {
    if (this.finished || this.options.silent) return;
    this.finished = true;
    if (this.tty) this.stream.write('\r\x1b[K');
    this.stream.write(`${this.label}: ${this.done}/${this.total} done, ${summary}\n`);
  }

  private draw(note: string): void {
    const width = 24;
    const filled = this.total === 0 ? width : Math.round((this.done / this.total) * width);
    const line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} ${note}`;
    const columns = this.stream.columns ?? 80;
    this.stream.write(`\r\x1b[K${line.slice(0, columns - 1)}`);
  }
}
