// RunDetails front end (anywidget ESM): the one run renderer of labextension/src/runview/ over the widget's comm.
// The drawing code lives there, shared with the JupyterLab extension (the sidebar's run view and reopened
// outputs, over REST); js/build.mjs bundles it with uPlot into jupyter_amlrun/notebook/static/.
export { default } from "../../labextension/src/runview/comm";
