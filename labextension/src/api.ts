/**
 * Response shapes of the server extension's REST API (docs/rest-api.md).
 *
 * Mirrors jupyter_amlrun/server/models.py; keep the two in step with the doc (tests/server/test_wire_types.py
 * checks the properties of each).
 */
import {
  HeaderView,
  ImageView,
  LogsView,
  StatusView,
  SweepView,
  TableView
} from './runview/wire';

/** Every list route answers one page of this envelope. */
export interface IPage<T> {
  items: T[];
  /** Count before paging (after the filter). */
  total: number;
  offset: number;
  limit: number;
}

/** The query every list route takes. */
export interface IPageQuery {
  offset?: number;
  limit?: number;
  filter?: string;
}

/** The largest page the server gives. */
export const MAX_PAGE = 1000;

/** The page size the sidebar asks for. */
export const PAGE_SIZE = 200;

export interface IErrorBody {
  error: string;
  status: number;
}

export interface IWorkspace {
  name: string;
  location: string;
  default_datastore: string;
  tracking: string;
}

export interface IDatastore {
  name: string;
  kind: string;
  container: string;
  is_default: boolean;
}

export interface IFileEntry {
  name: string;
  path: string;
  is_dir: boolean;
  size: number | null;
  modified: string | null;
  /** "2.0 KB" ("" for folders): shown as it is. */
  size_text: string;
  /** The server's local time ("" when not known). */
  modified_text: string;
}

export interface IFolderListing extends IPage<IFileEntry> {
  datastore: string;
  path: string;
  snippet: string;
}

export interface IUploaded {
  path: string;
  size: number;
  size_text: string;
}

export interface IDataset {
  name: string;
  latest_version: number;
  description: string | null;
  tags: Record<string, string>;
  sources: string[];
  versions: number[];
  snippet: string;
}

export interface IModelVersion {
  version: number;
  description: string | null;
  tags: Record<string, string>;
  run_id: string | null;
  experiment: string | null;
  created: string | null;
  created_text: string;
  snippet: string;
}

export interface IModel {
  name: string;
  latest_version: number;
  /** Newest first. */
  versions: IModelVersion[];
}

export interface IDownloaded {
  path: string;
}

export interface IExperiment {
  name: string;
  id: string;
  run_count: number;
  live_count: number;
  /** "3 runs · 1 live" */
  counts_text: string;
}

export interface IRun {
  id: string;
  experiment: string;
  display_name: string | null;
  status: string;
  start: string | null;
  end: string | null;
  duration_seconds: number | null;
  metrics: Record<string, number>;
  target: string | null;
  parent_id: string | null;
  /** What the runs list draws, made by the widget's rules (view/model.py): this side formats nothing. */
  badge: StatusView;
  duration_text: string;
  metrics_text: string;
}

export interface IRunPage extends IPage<IRun> {
  live_count: number;
}

export interface IRunDetail extends IRun {
  details: Record<string, unknown>;
  log_files: string[];
  snippet: string;
}

export interface ILogChunk {
  name: string;
  text: string;
  /** The byte the text starts at (asked with `before`: a line start; 0: nothing earlier is left). */
  start: number;
  /** The byte offset to ask for next (asked with `before`: where the text ends). */
  offset: number;
  complete: boolean;
}

export interface ICancelled {
  id: string;
  status: string;
}

export interface IMetricSeries {
  /** run id -> metric name -> [[step, value], ...] (a sample cut for display; null: NaN/inf) */
  runs: Record<string, Record<string, [number, number | null][]>>;
  /** run id -> metric name -> points logged */
  total: Record<string, Record<string, number>>;
  /** the most points a series of `runs` holds in this answer */
  points: number;
  /** paging one series' full history: where the next page starts (null: the last page) */
  cursor: string | null;
}

/** GET runs/{a}/diff/{b} (server/models.py DiffAnswer): each [a, b] pair holds the two runs' values. */
export interface IDiffAnswer {
  runs: string[];
  params: Record<string, unknown[]>;
  metrics: Record<string, (number | null)[]>;
  code: Record<string, unknown>;
  environment: Record<string, unknown>;
  inputs: Record<string, unknown>;
}

/** POST runs/{id}/resubmit (server/models.py ResubmitAnswer): the new run. */
export interface IResubmitAnswer {
  id: string;
  status: string;
  resubmit_of: string;
}

/** The most runs the metrics route compares at once. */
export const MAX_COMPARED_RUNS = 20;

/** One run's line in a compare chart (server/models.py CompareLinePart); null stands for NaN or +-inf. */
export interface ICompareLinePart {
  run_id: string;
  xs: (number | null)[];
  ys: (number | null)[];
}

export interface ICompareChartPart {
  name: string;
  lines: ICompareLinePart[];
}

/** GET compare?runs=a,b (server/models.py CompareAnswer): view/compare.py's compare view. */
export interface ICompareAnswer {
  runs: ICompareRun[];
  charts: ICompareChartPart[];
  params: TableView;
  differing: number;
}

/** A compared run (view/compare.py CompareRun): its line's colour comes with it. */
export interface ICompareRun {
  id: string;
  name: string;
  status: string;
  color: string;
}

/** Points for one chart (server/models.py ChartPart); null stands for NaN or +-inf, which JSON cannot hold. */
export interface IChartPart {
  name: string;
  kind: string;
  xs: (number | null)[];
  ys: (number | null)[];
  label: string;
  replace: boolean;
  reindex: boolean;
  /** 'metrics', or 'system' (system/... samples: the System section) */
  section: string;
  /** the chart's title (view/model.py chart_title) */
  title: string;
  /** its value axis's label (view/model.py chart_axis) */
  axis: string;
}

/** Bytes [start, end) of a log, decoded (server/models.py LogChunkPart). */
export interface ILogChunkPart {
  name: string;
  text: string;
  start: number;
  end: number;
  head: number;
  reset: boolean;
}

/** GET runs/{id}/view: what changed in the run's view since the cursor (server/models.py RunViewAnswer). */
export interface IRunViewAnswer {
  cursor: string;
  reset: boolean;
  terminal: boolean;
  status: string | null;
  header: HeaderView | null;
  duration: string | null;
  logs: LogsView | null;
  children: TableView | null;
  sweep: SweepView | null;
  charts: IChartPart[];
  tables: TableView[];
  images: ImageView[];
  log_chunks: ILogChunkPart[];
  has_metrics: boolean;
}
