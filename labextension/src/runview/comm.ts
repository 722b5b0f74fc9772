/**
 * The comm transport: a live kernel's RunDetails widget (anywidget) feeds the run renderer. The kernel syncs the
 * view's state as traitlets and sends deltas as custom messages with float64 buffers (notebook/protocol.py).
 * This file is the anywidget bundle's entry (js/build.mjs builds it into jupyter_amlrun/notebook/static/).
 */
import { IRunTransport, IViewSink, RunDetailsView } from './render';
import {
  ChartPoints,
  ClientMsg,
  DeltaMsg,
  LogOlderMsg,
  MSG,
  STATE,
  SeriesPart,
  ViewState
} from './wire';

/** What the renderer uses of an anywidget model. */
export interface IWidgetModel {
  get(name: string): any;
  on(event: string, callback: (...args: any[]) => void): void;
  off(event: string, callback: (...args: any[]) => void): void;
  send(msg: ClientMsg): void;
}

type Buffer = DataView | ArrayBuffer;

function float64(buf: Buffer): Float64Array {
  return new Float64Array(
    'buffer' in buf
      ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
      : buf
  );
}

const SYNCED: (keyof ViewState)[] = [
  STATE.STATUS,
  STATE.HEADER,
  STATE.DURATION,
  STATE.LOGS,
  STATE.CHILDREN
] as (keyof ViewState)[];

export class CommTransport implements IRunTransport {
  readonly kind = 'comm';

  constructor(private model: IWidgetModel) {}

  connect(sink: IViewSink): void {
    this.sink = sink;
    const state: Partial<ViewState> = {};
    for (const name of SYNCED) {
      const value = this.model.get(name);
      (state as Record<string, unknown>)[name] = value ?? null;
      const listener = () =>
        sink.setState({ [name]: this.model.get(name) ?? null });
      this.listeners.push([`change:${name}`, listener]);
      this.model.on(`change:${name}`, listener);
    }
    sink.setState(state);
    this.model.on('msg:custom', this.onMsg);
    this.send({ type: MSG.HELLO });
  }

  cancel(): void {
    this.send({ type: MSG.CANCEL });
  }

  loadEarlier = (name: string, before: number): void => {
    this.send({ type: MSG.LOG_MORE, name, before });
  };

  dispose(): void {
    this.model.off('msg:custom', this.onMsg);
    for (const [event, listener] of this.listeners) {
      this.model.off(event, listener);
    }
    this.listeners = [];
    try {
      this.send({ type: MSG.BYE });
    } catch {
      // the comm may already be closed
    }
  }

  private send(msg: ClientMsg): void {
    this.model.send(msg);
  }

  private onMsg = (msg: unknown, buffers?: Buffer[]): void => {
    const sink = this.sink;
    if (!sink || !msg || typeof msg !== 'object') {
      return;
    }
    const m = msg as DeltaMsg | LogOlderMsg;
    if (m.type === MSG.DELTA) {
      const bufs = buffers || [];
      const charts: ChartPoints[] = [];
      const add = (parts: SeriesPart[], kind: 'scalar' | 'list') => {
        for (const part of parts || []) {
          const arr = float64(bufs[part.buffer]);
          charts.push({
            name: part.name,
            kind,
            xs: arr.subarray(0, part.n),
            ys: arr.subarray(part.n, 2 * part.n),
            label: part.label,
            replace: part.replace,
            reindex: part.reindex,
            section: part.section,
            title: part.title,
            axis: part.axis
          });
        }
      };
      add(m.scalars, 'scalar');
      add(m.lists, 'list');
      sink.applyDelta({
        reset: m.reset,
        charts,
        tables: m.tables || [],
        images: m.images || [],
        logs: m.logs || [],
        has_metrics: m.has_metrics
      });
    } else if (m.type === MSG.LOG_OLDER) {
      sink.prependLog(m.chunk);
    }
  };

  private sink: IViewSink | null = null;
  private listeners: [string, () => void][] = [];
}

/** anywidget's render: the run renderer over the widget's comm. */
export function render({
  model,
  el
}: {
  model: IWidgetModel;
  el: HTMLElement;
}): () => void {
  const view = new RunDetailsView(el, new CommTransport(model));
  // Test and benchmark hook: the live view of each widget element.
  (el as HTMLElement & { __amlrunView?: RunDetailsView }).__amlrunView = view;
  return () => view.dispose();
}

export default { render };
