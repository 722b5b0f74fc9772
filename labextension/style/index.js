import 'uplot/dist/uPlot.min.css';
import './runview.css';
import './base.css';
import './workbench.css';
