/** The sidebar tab's own icon: a small flask over a bar chart (AML runs and their metrics). */
import { LabIcon } from '@jupyterlab/ui-components';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="currentColor">
    <path d="M9 2h6v2h-1v5.2l5.6 9.7A2 2 0 0 1 17.9 22H6.1a2 2 0 0 1-1.7-3.1L10 9.2V4H9z M11.6 10.3 8.3 16h7.4l-3.3-5.7V4h-0.8z"/>
    <rect x="17" y="3" width="2" height="5"/>
    <rect x="20" y="1" width="2" height="7"/>
  </g>
</svg>`;

export const amlIcon = new LabIcon({ name: 'jupyter_amlrun:aml', svgstr: svg });
