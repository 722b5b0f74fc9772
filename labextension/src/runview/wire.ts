/**
 * The run view's wire: what the kernel's comm (jupyter_amlrun/notebook/protocol.py) and the REST view stream
 * (GET runs/{id}/view, jupyter_amlrun/server/models.py RunViewAnswer) carry. Every text and number shown comes
 * from the Python view model (jupyter_amlrun/view/model.py); these types mirror its TypedDicts and
 * tests/notebook/test_protocol.py and tests/server/test_wire_types.py check that they do.
 */

/** Message type names (protocol.py MSG_*). */
export const MSG = Object.freeze({
  DELTA: 'delta',
  LOG_OLDER: 'log_older',
  HELLO: 'hello',
  BYE: 'bye',
  CANCEL: 'cancel',
  LOG_MORE: 'log_more'
});

/** Synced state names (protocol.py STATE_*). */
export const STATE = Object.freeze({
  RUN_ID: 'run_id',
  STATUS: 'status',
  HEADER: 'header',
  DURATION: 'duration',
  LOGS: 'logs',
  CHILDREN: 'children'
});

// ---------------------------------------------------------------- the view model (view/model.py)
export type StatusView = {
  status: string;
  label: string;
  css_class: string;
  color: string;
  terminal: boolean;
};

export type Cell = string | StatusView;

export type FieldView = {
  label: string;
  text: string;
  kind: string;
};

export type CancelView = {
  enabled: boolean;
  label: string;
  pending_label: string;
};

/** The notebook a %%submit run came from: `path` relative to the Jupyter root ('' when not under it: no link). */
export type OriginView = {
  path: string;
  cell: number | null;
  text: string;
};

export type HeaderView = {
  title: string;
  run_id: string;
  status: StatusView;
  fields: FieldView[];
  portal_url: string;
  error: string;
  cancel: CancelView;
  origin: OriginView | null;
};

export type LogFileView = {
  name: string;
  label: string;
};

export type LogsView = {
  files: LogFileView[];
  main: string;
};

export type TableView = {
  name: string;
  title: string;
  note: string;
  columns: string[];
  rows: Cell[][];
};

export type ImageView = {
  name: string;
  src: string;
};

export type SweepChildView = {
  run_id: string;
  name: string;
  status: StatusView;
  color: string;
  terminated: boolean;
  values: number[];
  best: number | null;
  cells: Cell[];
  sort: (number | string | null)[];
  coords: (number | null)[];
};

export type SweepAxisView = {
  name: string;
  ticks: [number, string][];
};

export type ValueAxisView = {
  lo: number;
  hi: number;
  ticks: [number, string][];
};

export type SweepView = {
  metric: string;
  goal: string;
  title: string;
  columns: string[];
  children: SweepChildView[];
  axes: SweepAxisView[];
  value_axis: ValueAxisView;
};

// ---------------------------------------------------------------- the comm (protocol.py)
export type SeriesPart = {
  name: string;
  n: number;
  buffer: number;
  replace: boolean;
  reindex: boolean;
  label: string;
  section: string;
  title: string;
  axis: string;
};

export type LogChunkMsg = {
  name: string;
  text: string;
  start: number;
  end: number;
  head: number;
  reset: boolean;
};

export type DeltaMsg = {
  type: 'delta';
  reset: boolean;
  scalars: SeriesPart[];
  lists: SeriesPart[];
  tables: TableView[];
  images: ImageView[];
  logs: LogChunkMsg[];
  has_metrics: boolean;
};

export type LogOlderMsg = {
  type: 'log_older';
  chunk: LogChunkMsg | null;
};

export type HelloMsg = {
  type: 'hello';
};

export type ByeMsg = {
  type: 'bye';
};

export type CancelMsg = {
  type: 'cancel';
};

export type LogMoreMsg = {
  type: 'log_more';
  name: string;
  before: number;
};

/** What the front end sends (over the comm, or as REST calls). */
export type ClientMsg = HelloMsg | ByeMsg | CancelMsg | LogMoreMsg;

// ---------------------------------------------------------------- what the renderer takes from a transport
/** One chart's new points, as either transport carries them (the comm as float64 buffers, REST as lists). */
export type ChartPoints = {
  name: string;
  kind: 'scalar' | 'list';
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  label: string;
  replace: boolean;
  reindex: boolean;
  /** 'metrics', or 'system' (the driver's system/... samples, drawn under their own heading) */
  section: string;
  /** the chart's title (view/model.py chart_title) */
  title: string;
  /** its value axis's label (view/model.py chart_axis) */
  axis: string;
};

/** What changed in the view's data (charts, tables, images, log text). */
export type ViewDelta = {
  reset: boolean;
  charts: ChartPoints[];
  tables: TableView[];
  images: ImageView[];
  logs: LogChunkMsg[];
  has_metrics: boolean;
};

/** The view's state: what the comm syncs as traitlets, what REST sends when it changed. */
export type ViewState = {
  status: string;
  header: HeaderView | null;
  duration: string;
  logs: LogsView | null;
  children: (TableView & { sweep?: SweepView | null }) | null;
};
