"""compute_signals(): each component's raw value from long input frames, windows and what counts as missing.

as_of = 30 June 2025 throughout. "Last 30 days" = (31 May, 30 June] = 1–30 June; the prior 30 days =
(1 May, 31 May] = 2–31 May; "last 180 days" = (1 Jan, 30 June]; "last 90 days" = (1 Apr, 30 June].
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from health.scoring import InputError, ScoringInputs, compute_signals, default_model, score

from .helpers import AS_OF, accounts, pulses, single, surveys, tickets, usage


def raw(inputs: ScoringInputs, model, key=None) -> dict:
    key = key or model.components[0].key
    values = compute_signals(inputs, model)[key]
    return {account: (None if np.isnan(value) else round(float(value), 6)) for account, value in values.items()}


def component_score(inputs: ScoringInputs, model) -> dict:
    parts = score(compute_signals(inputs, model), model).components
    return {row.account_id: (None if np.isnan(row.score) else round(row.score, 2)) for row in parts.itertuples()}


# usage trend --------------------------------------------------------------------------------------------------


def trend_inputs():
    return ScoringInputs(
        as_of=AS_OF,
        accounts=accounts([1, 2, 3, 4, 5, 6]),
        usage=usage(
            [
                (1, "2025-05-01", "logins", 1000),  # as_of − 60: outside both windows
                (1, "2025-05-02", "logins", 30),  # prior
                (1, "2025-05-31", "logins", 50),  # as_of − 30: last day of the prior window
                (1, "2025-06-01", "logins", 40),  # first day of the current window
                (1, "2025-06-30", "logins", 20),  # as_of itself counts
                (1, "2025-07-01", "logins", 999),  # after as_of: ignored
                (1, "2025-06-15", "api_calls", 500),  # another metric: ignored
                (2, "2025-06-10", "logins", 50),  # nothing before: no baseline
                (3, "2025-05-10", "logins", 0),  # a prior window of zeros: no baseline either
                (3, "2025-06-10", "logins", 10),
                (4, "2025-05-10", "logins", 100),  # usage stopped: no row at all this month
                (6, "2025-06-10", "api_calls", 10),
            ]
        ),
    )


def test_usage_trend_compares_the_last_30_days_with_the_prior_30():
    """Account 1: current 40 + 20 = 60; prior 30 + 50 = 80; ratio 0.75.
    Default curve 0.5 → 0, 1.0 → 80, 1.2 → 100: 0.75 → (0.75 − 0.5) / 0.5 × 80 = 40.
    Account 4: prior 100, current nothing (days without rows are zero) → ratio 0 → score 0."""
    model = single("usage_trend")
    assert raw(trend_inputs(), model) == {1: 0.75, 2: None, 3: None, 4: 0.0, 5: None, 6: None}
    assert component_score(trend_inputs(), model)[1] == 40.0
    assert component_score(trend_inputs(), model)[4] == 0.0


def test_usage_trend_without_prior_usage_is_missing_not_100():
    """Accounts 2 (no prior rows) and 3 (prior rows all zero) have no baseline: missing, weight redistributed."""
    result = score(compute_signals(trend_inputs(), single("usage_trend")), single("usage_trend"))
    assert result.accounts.loc[2, "band"] == "unknown"
    assert result.accounts.loc[3, "missing"] == ("usage_trend",)


def test_usage_trend_window_and_metric_are_parameters():
    model = single("usage_trend", metric="api_calls", window_days=60)
    inputs = ScoringInputs(
        as_of=AS_OF,
        accounts=accounts([1]),
        usage=usage([(1, "2025-03-15", "api_calls", 10), (1, "2025-06-01", "api_calls", 25)]),  # prior: 2 Mar–1 May
    )
    assert raw(inputs, model) == {1: 2.5}


# seat utilisation ---------------------------------------------------------------------------------------------


def test_seat_utilisation_is_the_latest_active_users_reading_over_licensed_seats():
    """1: latest reading in the window is 7 (28 June) of 10 seats → 0.7 → (0.7 − 0.2) / 0.6 × 100 = 83.33.
    2: 13 of 10 → 1.3, kept uncapped as the raw value; its score is capped at 100.
    3: seats unknown; 4: zero seats; 5: last reading 31 May is outside the 30-day window → all missing.
    6: two readings on the same day → the larger one (6) → 0.6."""
    inputs = ScoringInputs(
        as_of=AS_OF,
        accounts=accounts([1, 2, 3, 4, 5, 6], licensed_seats=[10, 10, None, 0, 10, 10]),
        usage=usage(
            [
                (1, "2025-06-20", "active_users", 5),
                (1, "2025-06-28", "active_users", 7),
                (1, "2025-06-29", "logins", 70),
                (2, "2025-06-28", "active_users", 13),
                (3, "2025-06-28", "active_users", 5),
                (4, "2025-06-28", "active_users", 5),
                (5, "2025-05-31", "active_users", 5),
                (6, "2025-06-28", "active_users", 6),
                (6, "2025-06-28", "active_users", 4),
            ]
        ),
    )
    model = single("seat_utilisation")
    assert raw(inputs, model) == {1: 0.7, 2: 1.3, 3: None, 4: None, 5: None, 6: 0.6}
    assert component_score(inputs, model) == {1: 83.33, 2: 100.0, 3: None, 4: None, 5: None, 6: 66.67}
    observed = compute_signals(inputs, model)["seat_utilisation__observed_on"]
    assert observed[1] == pd.Timestamp("2025-06-28")
    assert pd.isna(observed[3]) is False  # a reading was looked at even though seats are unknown


# feature breadth ----------------------------------------------------------------------------------------------


def test_feature_breadth_counts_distinct_key_features_used_in_the_window():
    """Key features a, b, c, d. 1: a and b used (b twice), c only with value 0, x is not a key feature → 2 / 4
    = 0.5 → default curve 0 → 0, 0.6 → 100: 83.33. 2: usage in the window but no key feature → 0.
    3: key features only before the window and no usage in it → missing."""
    inputs = ScoringInputs(
        as_of=AS_OF,
        accounts=accounts([1, 2, 3]),
        usage=usage(
            [
                (1, "2025-06-02", "feature:a", 1),
                (1, "2025-06-03", "feature:b", 2),
                (1, "2025-06-04", "feature:b", 1),
                (1, "2025-06-05", "feature:c", 0),
                (1, "2025-06-06", "feature:x", 9),
                (2, "2025-06-06", "logins", 9),
                (3, "2025-05-20", "feature:a", 3),
            ]
        ),
    )
    model = single("feature_breadth", key_features=["feature:a", "feature:b", "feature:c", "feature:d"])
    assert raw(inputs, model) == {1: 0.5, 2: 0.0, 3: None}
    assert component_score(inputs, model) == {1: 83.33, 2: 0.0, 3: None}


def test_categorical_metric_column_gives_the_same_signals():
    inputs = trend_inputs()
    categorical = inputs.usage.assign(metric=inputs.usage["metric"].astype("category"))
    fast = ScoringInputs(as_of=AS_OF, accounts=inputs.accounts, usage=categorical)
    model = default_model(key_features=("api_calls",))
    pd.testing.assert_frame_equal(compute_signals(inputs, model), compute_signals(fast, model))


# touchpoints --------------------------------------------------------------------------------------------------


def test_days_since_last_touchpoint():
    """1: 16 June → 14 days → 100. 2: 1 May → 60 days → (90 − 60) / (90 − 14) × 100 = 39.47.
    3: only a touchpoint after as_of → missing. 4: none → missing. 5: 2 April → 89 days → 1.32."""
    inputs = ScoringInputs(
        as_of=AS_OF,
        accounts=accounts([1, 2, 3, 4, 5]),
        touchpoints=pd.DataFrame(
            {
                "account_id": [1, 1, 2, 3, 5],
                "occurred_on": pd.to_datetime(["2025-06-01", "2025-06-16", "2025-05-01", "2025-07-05", "2025-04-02"]),
            }
        ),
    )
    model = single("touchpoint_recency")
    assert raw(inputs, model) == {1: 14.0, 2: 60.0, 3: None, 4: None, 5: 89.0}
    assert component_score(inputs, model) == {1: 100.0, 2: 39.47, 3: None, 4: None, 5: 1.32}


# NPS and CSAT -------------------------------------------------------------------------------------------------


def nps_inputs():
    return ScoringInputs(
        as_of=AS_OF,
        accounts=accounts([1, 2, 3, 4]),
        surveys=surveys(
            [
                (1, "A", "2024-12-01", "nps", 10),  # outside the 180-day window
                (1, "A", "2025-05-03", "nps", 3),  # A's latest: detractor
                (1, "B", "2025-02-01", "nps", 9),  # superseded by B's later answer
                (1, "B", "2025-04-01", "nps", 7),  # B's latest: passive
                (1, "C", "2025-06-01", "nps", 10),  # promoter
                (1, "D", "2025-01-01", "nps", 10),  # as_of − 180: just outside
                (2, None, "2025-06-01", "nps", 9),  # anonymous responses are separate respondents
                (2, None, "2025-06-02", "nps", 10),
                (3, "E", "2025-06-03", "nps", 10),  # same contact, same day: the lower answer counts
                (3, "E", "2025-06-03", "nps", 2),
                (4, "F", "2025-06-03", "csat", 5),
                (4, "F", "2025-06-04", "csat", 4),
                (4, "G", "2025-06-05", "csat", 3),
                (4, "G", "2025-06-06", "csat", 5),
                (4, "G", "2025-04-01", "csat", 1),  # as_of − 90: outside the CSAT window
            ]
        ),
    )


def test_nps_uses_the_latest_response_per_contact_within_180_days():
    """1: A detractor (3), B passive (7), C promoter (10); D's answer is on the window's open edge.
    NPS = (1 promoter − 1 detractor) / 3 × 100 = 0 → score (0 + 100) / 2 = 50.
    (Counting every response instead would give B's 9 as a second promoter: (2 − 1) / 4 = +25.)
    2: two anonymous promoters → +100 → 100. 3: E's same-day 10 and 2 → 2, a detractor → −100 → 0."""
    model = single("nps")
    assert raw(nps_inputs(), model) == {1: 0.0, 2: 100.0, 3: -100.0, 4: None}
    assert component_score(nps_inputs(), model) == {1: 50.0, 2: 100.0, 3: 0.0, 4: None}
    observed = compute_signals(nps_inputs(), model)["nps__observed_on"]
    assert observed[1] == pd.Timestamp("2025-06-01")


def test_nps_min_responses_makes_thin_samples_missing():
    assert raw(nps_inputs(), single("nps", min_responses=2)) == {1: 0.0, 2: 100.0, 3: None, 4: None}


def test_csat_is_the_share_of_4_and_5_answers_in_the_window():
    """4: answers 5, 4, 3, 5 in the last 90 days (the 1 on 1 April is outside) → 3 / 4 = 75 %.
    Default curve 50 % → 0, 90 % → 100: (75 − 50) / 40 × 100 = 62.5."""
    model = single("csat")
    assert raw(nps_inputs(), model) == {1: None, 2: None, 3: None, 4: 75.0}
    assert component_score(nps_inputs(), model)[4] == 62.5


# tickets ------------------------------------------------------------------------------------------------------


def ticket_frame():
    return tickets(
        [
            (1, "2025-06-01", None, "high", False),  # open
            (1, "2025-06-10", "2025-07-02", "Urgent", True),  # closed after as_of: open on as_of; escalated
            (1, "2025-06-11", "2025-06-30", "high", False),  # closed on as_of: not open
            (1, "2025-06-12", None, "low", False),  # low priority
            (1, "2025-07-01", None, "high", True),  # opened after as_of
            (1, "2025-04-01", "2025-04-03", "high", True),  # escalated on as_of − 90: outside the window
            (3, "2025-05-01", "2025-05-02", "normal", True),  # escalated, closed: still counts for 90 days
        ]
    )


def test_open_high_priority_tickets_on_the_scoring_day():
    """1: 2 open high/urgent tickets → curve 0 → 100, 3 → 0: 33.33. 2 and 3: none open → 100."""
    inputs = ScoringInputs(as_of=AS_OF, accounts=accounts([1, 2, 3]), tickets=ticket_frame())
    model = single("open_priority_tickets")
    assert raw(inputs, model) == {1: 2.0, 2: 0.0, 3: 0.0}
    assert component_score(inputs, model) == {1: 33.33, 2: 100.0, 3: 100.0}


def test_escalations_in_the_last_90_days():
    """1: one escalation in the window (10 June) → curve 0 → 100, 2 → 0: 50. 3: one (closed) → 50."""
    inputs = ScoringInputs(as_of=AS_OF, accounts=accounts([1, 2, 3]), tickets=ticket_frame())
    assert raw(inputs, single("escalations")) == {1: 1.0, 2: 0.0, 3: 1.0}
    assert component_score(inputs, single("escalations")) == {1: 50.0, 2: 100.0, 3: 50.0}


def test_without_a_ticket_feed_ticket_components_are_missing_but_an_empty_feed_means_none_open():
    no_feed = ScoringInputs(as_of=AS_OF, accounts=accounts([1, 2]), tickets=None)
    empty_feed = ScoringInputs(as_of=AS_OF, accounts=accounts([1, 2]), tickets=ticket_frame().iloc[:0])
    for kind in ("open_priority_tickets", "escalations"):
        assert raw(no_feed, single(kind)) == {1: None, 2: None}
        assert raw(empty_feed, single(kind)) == {1: 0.0, 2: 0.0}


# renewal ------------------------------------------------------------------------------------------------------


def test_days_to_renewal():
    """60 days → 40 + (60 − 30) / 150 × 40 = 48; overdue (−29) → 40 (flat below 30 days); a year → 80."""
    inputs = ScoringInputs(
        as_of=AS_OF,
        accounts=accounts(
            [1, 2, 3, 4], renewal_dates=[dt.date(2025, 8, 29), dt.date(2025, 6, 1), None, dt.date(2026, 6, 30)]
        ),
    )
    model = single("days_to_renewal")
    assert raw(inputs, model) == {1: 60.0, 2: -29.0, 3: None, 4: 365.0}
    assert component_score(inputs, model) == {1: 48.0, 2: 40.0, 3: None, 4: 80.0}


# CSM pulse ----------------------------------------------------------------------------------------------------


def pulse_inputs():
    return ScoringInputs(
        as_of=AS_OF,
        accounts=accounts([1, 2, 3, 4, 5, 6, 7]),
        pulses=pulses(
            [
                (1, "concerned", "2025-06-01", None),  # 29 days old, valid 30 → counts
                (2, "good", "2025-05-31", None),  # exactly 30 days old → expired
                (3, "neutral", "2025-05-15", 60),  # 46 days old, its own validity 60 → counts
                (4, "good", "2025-06-20", None),
                (4, "Concerned", "2025-06-25", None),  # the latest one counts
                (5, "good", "2025-04-15", 365),  # older, would still be valid …
                (5, "concerned", "2025-05-01", 10),  # … but the latest has expired: missing
                (6, "good", "2025-06-10", None),  # same day: the worse read counts
                (6, "concerned", "2025-06-10", None),
                (7, "good", "2025-07-05", None),  # recorded after as_of
            ]
        ),
    )


def test_pulse_counts_for_validity_days_including_the_day_it_was_recorded_then_expires():
    """A pulse recorded on day r with validity v counts while as_of − r < v: recorded 1 June with 30 days it
    counts through 30 June; recorded 31 May it is missing on 30 June (exactly 30 days later)."""
    model = single("csm_pulse")
    # raw value = 0 concerned / 1 neutral / 2 good
    assert raw(pulse_inputs(), model) == {1: 0.0, 2: None, 3: 1.0, 4: 0.0, 5: None, 6: 0.0, 7: None}
    assert component_score(pulse_inputs(), model) == {1: 20.0, 2: None, 3: 60.0, 4: 20.0, 5: None, 6: 20.0, 7: None}


def test_an_expired_pulse_keeps_the_day_it_was_recorded_so_the_page_can_say_when_it_went_stale():
    observed = compute_signals(pulse_inputs(), single("csm_pulse"))["csm_pulse__observed_on"]
    assert observed[2] == pd.Timestamp("2025-05-31")
    assert pd.isna(observed[7])


def test_pulse_validity_is_a_model_parameter():
    model = single("csm_pulse", validity_days=31)
    assert raw(pulse_inputs(), model)[2] == 2.0  # 30 days old < 31


# whole model, contract ----------------------------------------------------------------------------------------


def test_rows_of_unknown_accounts_are_ignored_and_string_ids_work():
    inputs = ScoringInputs(
        as_of=AS_OF,
        accounts=accounts(["acme", "globex"], licensed_seats=[10, 10]),
        usage=usage([("acme", "2025-06-28", "active_users", 5), ("initech", "2025-06-28", "active_users", 5)]),
    )
    signals = compute_signals(inputs, single("seat_utilisation"))
    assert signals.index.tolist() == ["acme", "globex"]
    assert signals["seat_utilisation"].tolist()[0] == 0.5


def test_the_default_model_scores_every_account_from_all_inputs():
    inputs = ScoringInputs(
        as_of=AS_OF,
        accounts=accounts([1, 2, 3, 4, 5, 6, 7], licensed_seats=[10] * 7),
        usage=trend_inputs().usage,
        surveys=nps_inputs().surveys,
        tickets=ticket_frame(),
        pulses=pulse_inputs().pulses,
    )
    model = default_model()
    signals = compute_signals(inputs, model)
    assert list(signals.columns[: len(model.components)]) == list(model.keys)
    assert all(f"{key}__observed_on" in signals.columns for key in model.keys)
    result = score(signals, model)
    assert result.accounts.index.tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert set(result.accounts["band"]) <= {"healthy", "stable", "at_risk", "unknown"}
    # account 7 has only "no open tickets" (15 % of the weight, under the seed model's 25 %) → no score
    assert result.accounts.loc[7, "band"] == "unknown"


def test_same_inputs_in_any_row_order_give_identical_signals_and_scores():
    def inputs(seed: int | None) -> ScoringInputs:
        def shuffle(frame):
            return frame if seed is None else frame.sample(frac=1.0, random_state=seed)

        return ScoringInputs(
            as_of=AS_OF,
            accounts=shuffle(accounts([1, 2, 3, 4, 5, 6, 7], licensed_seats=[10] * 7)),
            usage=shuffle(trend_inputs().usage),
            surveys=shuffle(nps_inputs().surveys),
            tickets=shuffle(ticket_frame()),
            pulses=shuffle(pulse_inputs().pulses),
        )

    model = default_model(key_features=("api_calls",))
    baseline = score(compute_signals(inputs(None), model), model)
    for seed in (1, 2, 3):
        again = score(compute_signals(inputs(seed), model), model)
        pd.testing.assert_frame_equal(baseline.accounts, again.accounts)
        pd.testing.assert_frame_equal(baseline.components, again.components)


def test_broken_inputs_are_refused_with_every_problem_listed():
    with pytest.raises(InputError) as caught:
        ScoringInputs(
            as_of=dt.datetime(2025, 6, 30, 12, 0),
            accounts=pd.DataFrame({"account_id": [1, 1]}),
            usage=pd.DataFrame({"account_id": [1], "date": ["2025-06-01"], "metric": ["logins"]}),
            surveys=surveys([(1, "A", "2025-06-01", "nps", 11), (1, "A", "2025-06-01", "ces", 3)]).assign(
                kind=["nps", "poll"]
            ),
            pulses=pulses([(1, "great", "2025-06-01", None)]),
            touchpoints=pd.DataFrame(
                {"account_id": [1], "occurred_on": pd.to_datetime(["2025-06-01"]).tz_localize("UTC")}
            ),
        )
    problems = "\n".join(caught.value.problems)
    assert "as_of must be a calendar date" in problems
    assert "usage lacks column(s): value" in problems
    assert "surveys.kind must be one of nps, csat, ces; got ['poll']" in problems
    assert "surveys.score for nps must be within 0–10; 1 row(s) are not" in problems
    assert "pulses.value must be one of concerned, neutral, good; got ['great']" in problems
    assert "touchpoints.occurred_on is timezone-aware" in problems
    assert isinstance(caught.value, ValueError)


def test_duplicate_accounts_mixed_id_types_and_negative_usage_are_refused():
    with pytest.raises(InputError, match="accounts.account_id repeats"):
        ScoringInputs(as_of=AS_OF, accounts=pd.DataFrame({"account_id": [1, 1]}))
    with pytest.raises(InputError, match="use the same id type in every frame"):
        ScoringInputs(as_of=AS_OF, accounts=accounts([1]), usage=usage([("1", "2025-06-01", "logins", 1)]))
    with pytest.raises(InputError, match="usage.value must be finite and ≥ 0"):
        ScoringInputs(as_of=AS_OF, accounts=accounts([1]), usage=usage([(1, "2025-06-01", "logins", -1)]))


def test_dates_may_be_python_dates_or_strings():
    as_strings = ScoringInputs(
        as_of=AS_OF,
        accounts=accounts([1, 2, 3, 4, 5, 6, 7]),
        pulses=pulse_inputs().pulses.assign(recorded_on=lambda f: f["recorded_on"].dt.strftime("%Y-%m-%d")),
    )
    as_dates = ScoringInputs(
        as_of=AS_OF,
        accounts=accounts([1, 2, 3, 4, 5, 6, 7]),
        pulses=pulse_inputs().pulses.assign(recorded_on=lambda f: f["recorded_on"].dt.date),
    )
    model = single("csm_pulse")
    assert raw(as_strings, model) == raw(as_dates, model) == raw(pulse_inputs(), model)


def test_sparse_integer_ids_give_the_same_signals_as_compact_ones():
    """Compact integer ids use a lookup table, others a hash index: both must agree."""
    offset = 10**12
    base = trend_inputs()
    sparse = ScoringInputs(
        as_of=AS_OF,
        accounts=base.accounts.assign(account_id=base.accounts["account_id"] + offset),
        usage=base.usage.assign(account_id=base.usage["account_id"] + offset),
    )
    model = default_model(key_features=("api_calls",))
    compact, spread = compute_signals(base, model), compute_signals(sparse, model)
    assert spread.index.tolist() == [i + offset for i in compact.index]
    pd.testing.assert_frame_equal(compact.reset_index(drop=True), spread.reset_index(drop=True))
