from datetime import date

import pytest
from pydantic import ValidationError

import domain.policy as policies
from domain.policy import CURRENT_POLICY_VERSION, GZ_2022, POLICIES, Policy, policy, policy_in_force


def test_2022_measures_carry_their_time_limits_and_thresholds():
    p = policy("gz-2022")
    assert (p.completeness_notice_workdays, p.preliminary_review_workdays) == (5, 5)  # Art. 9
    assert (p.decision_workdays, p.decision_extension_workdays, p.decision_extensions_allowed) == (20, 10, 1)
    assert p.permit_issue_workdays == 10  # ALL 44
    assert (p.validity_years, p.renewal_min_days_before_expiry) == (2, 30)  # Art. 14
    assert (p.min_tanker_dwt, p.min_lease_years, p.min_tank_capacity_m3, p.clean_record_years) == (1000, 1, 5000, 2)
    assert (p.false_materials_ban_years, p.fraud_ban_years, p.dormancy_months) == (1, 3, 6)
    assert p.renewal_reminder_days == (90, 60, 45)


def test_current_version_is_registered():
    assert policy(CURRENT_POLICY_VERSION) is POLICIES[CURRENT_POLICY_VERSION]


def test_unknown_version_names_the_known_ones():
    with pytest.raises(KeyError, match="gz-2022"):
        policy("gz-1999")


def test_2022_measures_govern_from_their_issue_date():
    assert policy_in_force(date(2022, 2, 18)) is GZ_2022
    with pytest.raises(LookupError):
        policy_in_force(date(2022, 2, 17))


def test_2022_measures_keep_governing_until_a_successor_is_registered():
    assert policy_in_force(date(2026, 9, 28)) is GZ_2022


def test_a_new_version_supersedes_from_its_start_without_editing_the_old_one(monkeypatch):
    gz_2024 = GZ_2022.revise(version="gz-2024", title_zh="广州市国际航行船舶保税加油管理办法", in_force_from=date(2024, 3, 1))
    monkeypatch.setitem(POLICIES, "gz-2024", gz_2024)
    assert policy_in_force(date(2024, 2, 29)) is GZ_2022
    assert policy_in_force(date(2024, 3, 1)) is gz_2024
    assert policy("gz-2022") is GZ_2022  # decisions made under it still find their rules


def test_a_version_with_an_end_date_stops_governing_after_it():
    ended = GZ_2022.revise(in_force_until=policies.GZ_2022_TRIAL_ENDS)
    assert ended.in_force_on(date(2024, 2, 17)) and not ended.in_force_on(date(2024, 2, 18))


def test_revise_validates_the_copy():
    with pytest.raises(ValidationError):
        GZ_2022.revise(min_tanker_dwt=0)
    with pytest.raises(ValidationError):
        GZ_2022.revise(in_force_until=date(2021, 1, 1))
    with pytest.raises(ValidationError):
        GZ_2022.revise(unknown_parameter=1)


@pytest.mark.parametrize("reminders", [(60, 90, 45), (90, 60, 30), (90, 90, 45)])
def test_renewal_reminders_must_be_decreasing_and_before_the_art_14_cut_off(reminders):
    with pytest.raises(ValidationError):
        GZ_2022.revise(renewal_reminder_days=reminders)


def test_joint_review_reminder_must_precede_its_deadline():
    with pytest.raises(ValidationError):
        GZ_2022.revise(joint_review_reminder_workdays=10)


def test_policies_are_frozen():
    with pytest.raises(ValidationError):
        GZ_2022.min_tanker_dwt = 1  # type: ignore[misc]


def test_policy_round_trips_through_json():
    assert Policy.model_validate_json(GZ_2022.model_dump_json()) == GZ_2022
