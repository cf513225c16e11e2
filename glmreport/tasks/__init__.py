"""What worker processes run, importing only what fitting needs.

A worker (a local pool process or a Dask worker) imports the modules of the functions it is
sent: the task itself and the code that runs it. Both live here, outside
:mod:`glmreport.pipeline`, so that a worker imports ``config``, ``inputs`` and ``glm`` only,
not the whole pipeline with its inference, outputs, figures and report. This package imports
nothing on its own.

- :mod:`.study_fit`: fit one run of a study (:func:`~.study_fit.fit_run`);
- :mod:`.worker`: the call around every task in a worker process (one BLAS thread, the
  exception caught and sent back);
- :mod:`.failures`: what a failed task sends back, and the exceptions that report it;
- :mod:`.shared`: data sent once to every worker, and the small handle tasks carry instead.
"""
