"""Teaching a class on a shared server: nbgrader's exchange and the class's JupyterHub.

``exchange``: the instructor's release, collect and feedback through the exchange, with the
trusted grader in the middle (README, "Teaching on a JupyterHub"). ``hub``: the course's part
of ``course/jupyterhub_config.py``.
"""
