/**
 * "Re-run..." in the sidebar's run view: a form with the run's script arguments (one per line, editable) and an
 * optional compute target, posted to POST runs/{id}/resubmit (Run.resubmit: the same snapshot, the changes given,
 * tagged with the run it came from); the new run then opens in the run view.
 */
import { IResubmitAnswer, IRunDetail } from './api';
import { ISidebarContext } from './context';
import { button, h } from './dom';
import { requestAPI, route } from './request';

/** The class of the re-run form. */
export const RERUN_CLASS = 'jp-amlrun-rerun';

function runArguments(detail: IRunDetail): string[] {
  const def = (detail.details['runDefinition'] ?? {}) as {
    arguments?: unknown[];
  };
  return (def.arguments ?? []).map(a => String(a));
}

/** Post the re-run of `runId` and open the new run. */
export async function resubmit(
  runId: string,
  args: string[],
  computeTarget: string,
  ctx: ISidebarContext
): Promise<IResubmitAnswer> {
  const body: Record<string, unknown> = { arguments: args };
  if (computeTarget.trim()) {
    body.compute_target = computeTarget.trim();
  }
  const answer = await requestAPI<IResubmitAnswer>(
    route('runs', runId, 'resubmit'),
    { method: 'POST', body: JSON.stringify(body) }
  );
  ctx.openRun(answer.id);
  return answer;
}

/** The form under the run view's actions: arguments (one per line) and a compute target. */
async function openForm(
  runId: string,
  ctx: ISidebarContext,
  anchor: HTMLElement
): Promise<void> {
  const bar = anchor.closest('.jp-amlrun-actions') ?? anchor;
  bar.parentElement?.querySelector(`.${RERUN_CLASS}`)?.remove();
  const detail = await requestAPI<IRunDetail>(route('runs', runId));
  const args = h('textarea', {
    class: 'jp-amlrun-rerun-args',
    rows: '4',
    title: 'The script arguments, one per line'
  });
  args.value = runArguments(detail).join('\n');
  const target = h('input', {
    class: 'jp-amlrun-rerun-target',
    placeholder: 'compute target (empty: the same)',
    title: 'The compute target to run on; empty keeps the run’s own'
  });
  const form = h(
    'div',
    { class: RERUN_CLASS, 'data-run-id': runId },
    h('div', {}, h('b', {}, 'Re-run from the same snapshot')),
    h('label', {}, 'Arguments, one per line'),
    args,
    target
  );
  form.append(
    h(
      'div',
      { class: 'jp-amlrun-actions' },
      button(
        'Submit',
        async () => {
          const lines = args.value.split('\n').filter(a => a.length > 0);
          await resubmit(runId, lines, target.value, ctx);
        },
        { class: 'jp-amlrun-rerun-submit' }
      ),
      button('Cancel', () => form.remove())
    )
  );
  bar.after(form);
  args.focus();
}

/** The run view's "Re-run..." button. */
export function rerunButton(
  runId: string,
  ctx: ISidebarContext
): HTMLButtonElement {
  const b: HTMLButtonElement = button(
    'Re-run...',
    () => openForm(runId, ctx, b),
    {
      class: 'jp-amlrun-rerun-button',
      title:
        'Submit this run again from its snapshot, with the arguments edited'
    }
  );
  return b;
}
