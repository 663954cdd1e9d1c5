"""`python -m openft.train JOB_ID [ATTEMPT]`: the training process a worker starts for one start of a job.

It dies with its worker and saves its state on SIGTERM (lifeline.py); its exit status tells the
worker whether it stopped to be started again (SUSPENDED).
"""

import logging
import sys

from openft.config import Settings
from openft.train.job import run_job
from openft.train.lifeline import StopRequest, bind_to_worker

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python -m openft.train JOB_ID [ATTEMPT]")
    bind_to_worker()
    stop = StopRequest().install()
    attempt = int(sys.argv[2]) if len(sys.argv) == 3 else None
    sys.exit(run_job(Settings.load(), sys.argv[1], attempt, stop))
