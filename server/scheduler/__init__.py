"""Scheduled duties: the jobs as data with stable ids (jobs.py), the single-scheduler lock that lets any
number of `hourproof scheduler` processes run with only one running jobs (lock.py)."""
