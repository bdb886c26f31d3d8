"""The short soak: a few hundred messages through local mode with every fault of `make soak` at once; nothing
published is lost (the accounting invariant holds for every message)."""

from __future__ import annotations

from bench.soak import run_soak


def test_nothing_is_lost_whatever_breaks(tmp_path):
    result = run_soak(
        150, publishers=4, workers=2, kill_every_s=5.0, aws_fault_share=0.1, settle_timeout_s=150, log_dir=tmp_path
    )
    print(result.summary())
    report = result.report
    assert report.lost == {}, result.summary()
    assert report.settled == report.published == 150
    assert report.unexpected_deliveries == 0
    assert result.poison_in_redrive, "the poison record did not reach the redrive queue"
    # The faults happened: the figures above mean something.
    assert result.worker_kills >= 2
    assert sum(result.injected_faults.values()) > 0
    assert report.delivered and report.dead_lettered and report.cancelled
