/**
 * Response shapes of the server extension's REST API (docs/rest-api.md).
 *
 * Mirrors jupyter_amlrun/server/models.py; keep the two in step with the doc.
 */

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
}

export interface IFolderListing extends IPage<IFileEntry> {
  datastore: string;
  path: string;
  snippet: string;
}

export interface IUploaded {
  path: string;
  size: number;
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
  /** The byte offset to ask for next. */
  offset: number;
  complete: boolean;
}

export interface ICancelled {
  id: string;
  status: string;
}

export interface IMetricSeries {
  /** run id -> metric name -> [[step, value], ...] */
  runs: Record<string, Record<string, [number, number][]>>;
}

/** The most runs the metrics route compares at once. */
export const MAX_COMPARED_RUNS = 20;

/** v1 statuses after which a run never changes again. */
export const TERMINAL_STATUSES = ['Completed', 'Failed', 'Canceled'];

/** Whether a v1 status is still live (queued, running, finalizing...). */
export function isLive(status: string): boolean {
  return TERMINAL_STATUSES.indexOf(status) < 0;
}
