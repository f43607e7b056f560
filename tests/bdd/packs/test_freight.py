"""Scenarios of features/freight/: the freight pack's promises, run against its own files."""

import pytest
from pytest_bdd import scenarios

from loyalty.packs import pack_dir
from tests.steps.industry.buying import *  # noqa: F403
from tests.steps.industry.happenings import *  # noqa: F403
from tests.steps.industry.people import *  # noqa: F403
from tests.steps.industry.rewards import *  # noqa: F403
from tests.steps.industry.standing import *  # noqa: F403
from tests.steps.industry.world import world  # noqa: F401


@pytest.fixture
def app_config(database_url: str) -> dict[str, object]:
    return {"database_url": database_url, "rules_dir": str(pack_dir("freight")),
            "rules_refresh_seconds": 0.0, "key_cache_seconds": 0.0}


scenarios("freight")
