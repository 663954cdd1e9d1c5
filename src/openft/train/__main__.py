"""`python -m openft.train JOB_ID`: the training process a worker starts for one job."""

import logging
import sys

from openft.config import Settings
from openft.train.job import run_job

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if len(sys.argv) != 2:
        sys.exit("usage: python -m openft.train JOB_ID")
    run_job(Settings.load(), sys.argv[1])
