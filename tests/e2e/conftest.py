"""The phone app in a real browser reuses the check-in world: a live lesson at a GCJ-02 venue,
Miranda enrolled with consent and his face template, the challenge seeded to the motions the
real clip shows."""
from tests.checkin.conftest import *  # noqa: F401,F403  (fixtures: recognizer, miranda_template, live; helpers)
