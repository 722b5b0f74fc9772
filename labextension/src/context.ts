/** What the sidebar's sections share: the current filter, and the ways to reach the rest of JupyterLab. */

export interface ISidebarContext {
  /** The filter box's text (a case-insensitive substring of names). */
  readonly filter: string;
  /** Open a run in the sidebar's run view. */
  openRun(id: string): void;
  /** The folder the file browser shows, relative to the Jupyter root ('' = the root). */
  currentFolder(): string;
  /** Refresh the file browser after a download landed in it. */
  refreshFiles(): Promise<void>;
  /** Insert a code cell below the active cell of the active notebook. */
  insertCell(source: string): Promise<void>;
  /** Open a notebook (a path relative to the Jupyter root) in JupyterLab, at cell `cell` when given. */
  openNotebook(path: string, cell: number | null): void;
}
