"""The staff pages reuse the API tests' two worlds and log-in helper."""
from tests.api.conftest import *  # noqa: F401,F403  (fixtures: worlds, login; helpers: PASSWORD, Api)
