// The compare view of RunDetails([run_a, run_b]) (anywidget ESM): the kernel syncs view/compare.py's compare view as
// `view`; labextension/src/runview/compare.ts (the sidebar's compare view too) draws it with the run view's uPlot
// charts. js/build.mjs bundles it into jupyter_amlrun/notebook/static/compare_details.js.
import { drawCompare } from "../../labextension/src/runview/compare";

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "amlrun-rd amlrun-compare-widget";
  el.append(root);
  let undo = () => {};
  const redraw = () => {
    undo();
    const view = model.get("view");
    undo = view && view.runs ? drawCompare(root, view) : () => {};
  };
  redraw();
  model.on("change:view", redraw);
  return () => {
    model.off("change:view", redraw);
    undo();
    root.remove();
  };
}

export default { render };
