/**
 * jupyter_amlrun's JupyterLab plugin: the "AML" left sidebar over the server extension's REST API.
 */
import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

// eslint-disable-next-line jupyter/prefer-lazy-imports -- the sidebar is added to the shell at activation
import { AmlSidebar } from './panel';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- it watches the notebooks from activation on
import { watchRunEnds } from './notify';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- its renderer is registered at activation
import { IHost, RUN_MIME, RunDetailsRenderer } from './widgetfallback';

/** The query parameter `run.get_portal_url()` sets: the run to open at start-up. */
export const RUN_PARAM = 'amlrun-run';

const PLUGIN_ID = 'jupyter_amlrun:plugin';

namespace CommandIDs {
  export const openRun = 'amlrun:open-run';
  export const refresh = 'amlrun:refresh';
}

/** Open `path` (relative to the Jupyter root) with the document manager and, for a notebook, go to cell `cell`. */
async function openNotebook(
  app: JupyterFrontEnd,
  notebooks: INotebookTracker | null,
  path: string,
  cell: number | null
): Promise<void> {
  await app.commands.execute('docmanager:open', { path });
  const panel = notebooks?.find(p => p.context.path === path);
  if (panel && cell !== null) {
    await panel.context.ready;
    if (cell < panel.content.widgets.length) {
      panel.content.activeCellIndex = cell;
      void panel.content.scrollToItem(cell);
    }
  }
}

/** The run id in the page's query string, if any. */
export function runFromLocation(search: string): string | null {
  const id = new URLSearchParams(search).get(RUN_PARAM);
  return id && id.trim() ? id.trim() : null;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'The AML sidebar: datastores, datasets, models, experiments and runs.',
  autoStart: true,
  optional: [
    ILabShell,
    ISettingRegistry,
    INotebookTracker,
    IDefaultFileBrowser
  ],
  activate: (
    app: JupyterFrontEnd,
    labShell: ILabShell | null,
    settingRegistry: ISettingRegistry | null,
    notebooks: INotebookTracker | null,
    fileBrowser: IDefaultFileBrowser | null
  ) => {
    // Read it now: JupyterLab's router may rewrite the URL once the app is restored.
    const startRun = runFromLocation(window.location.search);
    const sidebar = new AmlSidebar({
      currentFolder: () => fileBrowser?.model.path ?? '',
      refreshFiles: async () => {
        await fileBrowser?.model.refresh();
      },
      insertCell: async (source: string) => {
        const panel = notebooks?.currentWidget;
        if (!panel) {
          throw new Error(
            'Open a notebook first: the RunDetails cell goes into the active notebook.'
          );
        }
        await panel.context.ready;
        NotebookActions.insertBelow(panel.content);
        const cell = panel.content.activeCell;
        if (!cell) {
          throw new Error('The notebook has no active cell to insert below.');
        }
        cell.model.sharedModel.setSource(source);
        app.shell.activateById(panel.id);
      },
      openNotebook: (path: string, cell: number | null) =>
        void openNotebook(app, notebooks, path, cell)
    });
    app.shell.add(sidebar, 'left', { rank: 650 });

    app.commands.addCommand(CommandIDs.openRun, {
      label: 'Open AML run',
      describedBy: {
        args: {
          type: 'object',
          properties: { id: { type: 'string', description: 'The run id' } },
          required: ['id']
        }
      },
      execute: async args => {
        const id = String(args.id ?? '');
        if (!id) {
          throw new Error(
            'amlrun:open-run needs a run id: { "id": "<run id>" }'
          );
        }
        app.shell.activateById(sidebar.id);
        await sidebar.openRun(id);
      }
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh the AML sidebar',
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => sidebar.refresh()
    });

    if (settingRegistry) {
      settingRegistry
        .load(plugin.id)
        .then(settings => {
          const apply = () => {
            sidebar.refreshInterval = Number(
              settings.get('refreshInterval').composite ?? 5
            );
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(reason => {
          console.error(
            'jupyter_amlrun: could not load the sidebar settings',
            reason
          );
        });
    }

    void app.restored.then(() => {
      if (startRun) {
        void app.commands.execute(CommandIDs.openRun, { id: startRun });
      }
    });
    watchRunEnds(app, notebooks, labShell);
  }
};

/** Ahead of ipywidgets' widget view (-10), so RunDetails outputs (with the marker) come to our renderer first. */
const RUN_MIME_RANK = -20;

const widgetFallbackPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter_amlrun:widget-fallback',
  description:
    "RunDetails outputs whose kernel is gone show the run from the workspace, not ipywidgets' error.",
  autoStart: true,
  requires: [IRenderMimeRegistry],
  optional: [INotebookTracker],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    notebooks: INotebookTracker | null
  ) => {
    const panelOf = (node: HTMLElement) =>
      notebooks?.find(panel => panel.node.contains(node)) ?? null;
    const host: IHost = {
      rendermimeFor: node => panelOf(node)?.content.rendermime ?? rendermime,
      sessionFor: node => panelOf(node)?.sessionContext ?? null,
      contextFor: node => ({
        filter: '',
        openRun: (id: string) =>
          void app.commands.execute('amlrun:open-run', { id }),
        currentFolder: () => '',
        refreshFiles: async () => undefined,
        insertCell: async (source: string) => {
          const panel = panelOf(node);
          if (!panel) {
            throw new Error(
              'This output is not in a notebook: copy the snippet instead.'
            );
          }
          NotebookActions.insertBelow(panel.content);
          panel.content.activeCell?.model.sharedModel.setSource(source);
        },
        openNotebook: (path: string, cell: number | null) =>
          void openNotebook(app, notebooks, path, cell)
      })
    };
    // Notebooks clone this registry when they open, so every notebook opened from now on has the factory.
    rendermime.addFactory(
      {
        safe: false,
        mimeTypes: [RUN_MIME],
        createRenderer: () => new RunDetailsRenderer(host)
      },
      RUN_MIME_RANK
    );
  }
};

export default [plugin, widgetFallbackPlugin];
