/**
 * The REST transport: the run renderer fed by polling the server extension's view stream (GET runs/{id}/view,
 * server/models.py RunViewAnswer), the same view model the widget's comm carries. Used by the sidebar's run view
 * and by a RunDetails output whose kernel is gone.
 */
import { ILogChunk, IRunViewAnswer } from '../api';
import { AmlApiError, requestAPI, route } from '../request';
import { IRunTransport, IViewSink } from './render';

/** How often a live run's view is asked for what is new. */
export const POLL_MS = 1_000;
/** How often a first read that failed on the server's side (5xx, no answer) is tried again before giving up. */
const FIRST_READ_TRIES = 3;

export class RestTransport implements IRunTransport {
  readonly kind = 'rest';

  /**
   * @param runId The run to follow.
   * @param onError Called with the error when the first read fails (no server extension, unknown run); later
   *   failures are retried at the next poll.
   */
  constructor(
    readonly runId: string,
    private onError: (error: unknown) => void = () => undefined
  ) {}

  /** Whether the run ended and its last view was drawn (polling stopped). */
  get ended(): boolean {
    return this.terminal;
  }

  connect(sink: IViewSink): void {
    this.sink = sink;
    void this.poll();
  }

  cancel(): void {
    void requestAPI(route('runs', this.runId, 'cancel'), { method: 'POST' })
      .catch(error => console.warn('jupyter_amlrun: cancel failed', error))
      .then(() => this.pollSoon());
  }

  dispose(): void {
    this.disposed = true;
    window.clearTimeout(this.timer);
    this.sink = null;
  }

  /** "Load earlier output": the log's part that ends at byte `before` (GET runs/{id}/logs?before=), as the comm's
   * log_more asks for it; the view prepends it. */
  loadEarlier = (name: string, before: number): void => {
    void requestAPI<ILogChunk>(
      route('runs', this.runId, 'logs'),
      {},
      { name, before }
    )
      .then(got =>
        this.sink?.prependLog({
          name: got.name,
          text: got.text,
          start: got.start,
          end: got.offset,
          head: got.start,
          reset: false
        })
      )
      .catch(error => {
        console.warn(
          'jupyter_amlrun: loading earlier log output failed',
          error
        );
        this.sink?.prependLog(null);
      });
  };

  /** Ask again now (after a cancel, or when the caller knows the run changed). */
  pollSoon(): void {
    if (this.disposed || this.busy) {
      return;
    }
    window.clearTimeout(this.timer);
    void this.poll();
  }

  private async poll(): Promise<void> {
    if (this.disposed) {
      return;
    }
    this.busy = true;
    let answer: IRunViewAnswer;
    try {
      answer = await requestAPI<IRunViewAnswer>(
        route('runs', this.runId, 'view'),
        {},
        { cursor: this.cursor }
      );
    } catch (error) {
      this.busy = false;
      const transient =
        error instanceof AmlApiError &&
        (error.status === 0 || error.status >= 500);
      if (!this.cursor && !(transient && ++this.failures < FIRST_READ_TRIES)) {
        // No server extension, an unknown run, or a server that keeps failing: the caller says so.
        this.onError(error);
        return;
      }
      this.schedule();
      return;
    } finally {
      this.busy = false;
    }
    const sink = this.sink;
    if (!sink || this.disposed) {
      return;
    }
    this.cursor = answer.cursor;
    this.deliver(sink, answer);
    this.terminal = answer.terminal;
    if (!answer.terminal) {
      this.schedule();
    }
  }

  private schedule(): void {
    this.timer = window.setTimeout(() => void this.poll(), POLL_MS);
  }

  private deliver(sink: IViewSink, a: IRunViewAnswer): void {
    const state: Record<string, unknown> = {};
    for (const key of ['status', 'header', 'duration', 'logs'] as const) {
      if (a[key] !== null || a.reset) {
        state[key] = a[key];
      }
    }
    if (a.children !== null || a.sweep !== null || a.reset) {
      // The comm carries a sweep inside the children table; REST beside it.
      if (a.children !== null || a.reset) {
        this.children = a.children;
      }
      if (a.sweep !== null || a.reset) {
        this.sweep = a.sweep;
      }
      state.children = this.children
        ? { ...this.children, sweep: this.sweep }
        : null;
    }
    sink.setState(state);
    sink.applyDelta({
      reset: a.reset,
      charts: a.charts.map(c => ({
        name: c.name,
        kind: c.kind === 'list' ? 'list' : 'scalar',
        // JSON has no NaN or inf: null stands for them, drawn as a gap
        xs: c.xs.map(v => (v === null ? NaN : v)),
        ys: c.ys.map(v => (v === null ? NaN : v)),
        label: c.label,
        replace: c.replace,
        reindex: c.reindex,
        section: c.section,
        title: c.title,
        axis: c.axis
      })),
      tables: a.tables,
      images: a.images,
      logs: a.log_chunks,
      has_metrics: a.has_metrics
    });
  }

  private sink: IViewSink | null = null;
  private cursor = '';
  private timer = 0;
  private busy = false;
  private disposed = false;
  private terminal = false;
  private failures = 0;
  private children: IRunViewAnswer['children'] = null;
  private sweep: IRunViewAnswer['sweep'] = null;
}
