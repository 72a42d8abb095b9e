"""Performance measurements of backprop-course, printed as tables of figures against targets.

Run ``python -m benchmarks`` (``make bench``); ``--quick`` runs each benchmark once at a tiny
size, ``--only NAME`` (repeatable) picks benchmarks. Each one compares figures measured side by
side in the same process, after warm-up runs, as medians of several runs, so that the ratios
mean something on a shared, noisy machine:

===========  ===================================================================================
step         1. the training step (784-512-512-10, batch 256) against its matrix products alone;
             the 2-3-1 network on batch 64
backward     2. backward time / forward time (the cheap-gradient principle)
torch        3. the same step in PyTorch, when it is installed (``pip install torch==2.13.0``)
widgets      4a. every widget control: new value to finished frame
surface      4b. refimpl.loss_surface on a 150 x 150 grid against the naive evaluation
course       5. every source notebook executed headless, one and two at a time
grading      6. grading throughput: stock nbgrader vs the trusted grader, --jobs 1 and 2
scaling      7. fitted exponents of time against width, batch and grid size
cold         8. a fresh clone's ``make lab`` to JupyterLab answering, with uv and with pip
distributed  9. autograde on a Dask cluster (one and two local workers) against local
             ``--jobs 2``; the time Dask adds per task (not in ``--quick``)
===========  ===================================================================================
"""
