"""``jupyter amlrun port``: rewrites v1 notebooks and scripts to import jupyter_amlrun (see :mod:`.port`)."""
