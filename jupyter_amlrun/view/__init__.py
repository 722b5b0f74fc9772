"""What to show of a run, for every front end: the view model and its format rules (:mod:`.model`), the
incremental watcher over :class:`~jupyter_amlrun.core.reader.RunReader` (:mod:`.watch`), the static summary
(:mod:`.summary`) and the run-type sections (:mod:`.sections`).

Imports neither IPython, ipywidgets nor jupyter_server: the notebook widget, the magics and the server's REST service
all draw from here.
"""
