"""The model pool settles the heap (openft.heap) after a lease that loads or evicts a model or an
adapter, so the collector's full passes skip what was loaded; a lease of what is loaded already
runs no full pass."""

from __future__ import annotations

from dataclasses import replace

import pytest

from openft.catalog import ModelTarget
from support.collector import full_passes, in_collected_generations

pytestmark = [pytest.mark.serve, pytest.mark.usefixtures("unfrozen_heap")]


def test_leases_that_load_settle_the_heap_and_leases_that_reuse_do_not(
    tmp_path, tiny_model_dir, tiny_artifacts
):
    from openft.serve.pool import ModelPool

    pool = ModelPool(tmp_path, max_adapters=1, compute_dtype="float32")
    base = ModelTarget(name="tiny", base_id="tiny", base_source=str(tiny_model_dir), context_length=256)

    def lease_and_release(target: ModelTarget) -> int:
        passes, lease = full_passes(lambda: pool.lease(target))
        lease.release()
        return passes

    passes, lease = full_passes(lambda: pool.lease(base))
    assert passes == 1
    assert not in_collected_generations(lease.model.adapters.module)
    lease.release()
    assert lease_and_release(base) == 0

    with_a, with_b = (replace(base, adapter_dir=tiny_artifacts[name]) for name in ("a", "b"))
    assert lease_and_release(with_a) == 1
    assert lease_and_release(with_a) == 0
    assert lease_and_release(with_b) == 1  # loads b, evicts a (one adapter at most)
    assert pool.base(base).adapters.loaded() == [str(tiny_artifacts["b"])]
    full = replace(base, weights_dir=tiny_artifacts["full"])
    assert lease_and_release(full) == 1
    assert lease_and_release(full) == 0
