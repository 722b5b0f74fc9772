/**
 * The one typed request helper: every call to the server extension goes through {@link requestAPI}.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IErrorBody } from './api';

/** The server extension's routes live under `{base_url}amlrun/api/`. */
export const API_ROOT = 'amlrun/api';

/** An error answer of the REST API, with the server's message (what was wrong, how to fix it). */
export class AmlApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
    this.name = 'AmlApiError';
  }
}

/** Query values; undefined and empty values are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

/** Build `endpoint?query` (values encoded). */
export function withQuery(endpoint: string, query?: Query): string {
  if (!query) {
    return endpoint;
  }
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === '') {
      continue;
    }
    params.set(
      key,
      typeof value === 'boolean' ? (value ? '1' : '0') : String(value)
    );
  }
  const text = params.toString();
  return text ? `${endpoint}?${text}` : endpoint;
}

/** Encode each segment of a route (names may hold spaces, slashes are kept as separators by the caller). */
export function route(...segments: string[]): string {
  return segments.map(encodeURIComponent).join('/');
}

/**
 * Call the REST API and parse its JSON answer.
 *
 * @param endpoint The route under `amlrun/api/`, already encoded (see {@link route}).
 * @param init Fetch options (method, body, headers).
 * @param query Query-string values.
 * @param settings Server connection settings (defaults to the page's).
 * @throws AmlApiError with the server's message on a non-2xx answer or when the server is unreachable.
 */
export async function requestAPI<T>(
  endpoint: string,
  init: RequestInit = {},
  query?: Query,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(
    settings.baseUrl,
    API_ROOT,
    withQuery(endpoint, query)
  );
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new AmlApiError(
      `The Jupyter server did not answer (${String(error)}); check that it is still running.`,
      0
    );
  }
  const text = await response.text();
  let data: unknown = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const body = data as Partial<IErrorBody> | null;
    if (response.status === 404 && (body === null || !body.error)) {
      throw new AmlApiError(
        'The amlrun server extension is not enabled: run `jupyter server extension enable jupyter_amlrun` and restart Jupyter.',
        404
      );
    }
    throw new AmlApiError(
      body && body.error
        ? body.error
        : `${response.status} ${response.statusText}`,
      response.status
    );
  }
  if (data === null && text.length > 0) {
    throw new AmlApiError(
      `The server answered ${endpoint} with something that is not JSON.`,
      response.status
    );
  }
  return data as T;
}
