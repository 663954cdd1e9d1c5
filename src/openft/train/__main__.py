"""`python -m openft.train JOB_ID [ATTEMPT]`: the training process a worker starts for one start of a job.
`python -m openft.train --standby`: one started ahead, which waits for its job on stdin (standby.py).

It dies with its worker and saves its state on SIGTERM (lifeline.py); its exit status tells the
worker whether it stopped to be started again (SUSPENDED).
"""

import logging
import sys

from openft.config import Settings
from openft.train.job import run_job
from openft.train.lifeline import StopRequest, bind_to_worker

USAGE = "usage: python -m openft.train JOB_ID [ATTEMPT] | --standby"


def main(argv: list[str]) -> int:
    if argv == ["--standby"]:
        from openft.train.standby import wait_for_job

        bind_to_worker()
        stop = StopRequest().install()
        order = wait_for_job()
        if order is None:
            return 0
        job_id, attempt = order
        return run_job(Settings.load(), job_id, attempt, stop)
    if len(argv) not in (1, 2) or argv[0].startswith("-"):
        sys.exit(USAGE)
    bind_to_worker()
    stop = StopRequest().install()
    return run_job(Settings.load(), argv[0], int(argv[1]) if len(argv) == 2 else None, stop)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.exit(main(sys.argv[1:]))
