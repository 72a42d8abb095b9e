"""JupyterHub for a class of backprop-course on one machine (README, "Teaching on a JupyterHub").

Run it as root, beside the course: ``jupyterhub -f course/jupyterhub_config.py``. Students log
in with their Linux accounts; each one's JupyterLab runs as their own user and shows nbgrader's
Assignment List for this course. The instructor releases, collects, grades and returns
feedback with ``backprop-course`` in a terminal (release --exchange, collect --exchange,
autograde, feedback --release).

Who may read and write where (the hub refuses to start, or to start a student's server,
otherwise):

- this course folder: the instructor only (chmod 700): it holds the solutions, the
  gradebook and every submission;
- the exchange (``c.Exchange.root`` of nbgrader_config.py, /srv/nbgrader/exchange): mode 1777;
  nbgrader gives each course's inbound folder mode 2733 (students write, only the
  instructor lists) and its feedback folder 711 (each student finds only their own);
- each student's home: the student only (chmod 700; ``useradd -m -K HOME_MODE=0700``);
- the course's Python environment: readable by everyone (install it in /opt, not in /root).

The course's part is in autograder/classroom/hub.py; the choices of this site are below.
Settings from the environment: BACKPROP_COURSE_HUB_STATE (the hub's database, cookie secret
and pid files; default /srv/backprop-course/hub), BACKPROP_COURSE_HUB_STUDENT_CONFIG (the
students' Jupyter config; default /srv/backprop-course/student-config),
BACKPROP_COURSE_HUB_PYTHON (the students' interpreter; default this one).
"""

import os
from pathlib import Path

from autograder.classroom import hub

c = get_config()  # noqa: F821  (JupyterHub injects get_config)

hub.configure(
    c,
    course_root=Path(__file__).resolve().parent,
    state_dir=Path(os.environ.get("BACKPROP_COURSE_HUB_STATE", "/srv/backprop-course/hub")),
    student_config_dir=Path(os.environ.get("BACKPROP_COURSE_HUB_STUDENT_CONFIG",
                                           "/srv/backprop-course/student-config")),
    python=os.environ.get("BACKPROP_COURSE_HUB_PYTHON") or None,
)

# Students log in with their Linux accounts; the members of one group may use the hub.
c.JupyterHub.authenticator_class = "pam"
c.LocalAuthenticator.allowed_groups = {"backprop-students"}
c.Authenticator.admin_users = {"instructor"}  # the Unix user who owns this course folder

# Where the class reaches the hub. Put HTTPS in front of it (a reverse proxy, or
# c.JupyterHub.ssl_cert and ssl_key) before passwords cross a network.
c.JupyterHub.bind_url = "http://:8000"

# A class on one machine: stop servers idle for an hour (pip install jupyterhub-idle-culler):
# c.JupyterHub.services = [{"name": "idle-culler",
#                           "command": ["python3", "-m", "jupyterhub_idle_culler",
#                                       "--timeout=3600"]}]
# c.JupyterHub.load_roles = [{"name": "idle-culler", "services": ["idle-culler"],
#                             "scopes": ["list:users", "read:users:activity",
#                                        "read:servers", "delete:servers"]}]
