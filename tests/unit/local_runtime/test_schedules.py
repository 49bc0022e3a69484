from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from infra.declarations import Schedule
from local_runtime.schedules import Clock, Cron, Expression, ExpressionError, Scheduler, scheduled_event

SP = ZoneInfo("America/Sao_Paulo")


def test_cron_weekdays_in_session_hours() -> None:
    cron = Cron.parse("* 10-17 ? * MON-FRI *")
    friday_close = datetime(2026, 11, 27, 17, 59, tzinfo=SP)
    # the next minute after Friday 17:59 is Monday 10:00
    assert cron.next_after(friday_close) == datetime(2026, 11, 30, 10, 0, tzinfo=SP)
    assert cron.next_after(datetime(2026, 11, 25, 10, 0, tzinfo=SP)) == datetime(2026, 11, 25, 10, 1, tzinfo=SP)


def test_cron_lists_steps_names_and_year() -> None:
    cron = Cron.parse("0/15 9,18 1 JAN,JUL ? 2027")
    assert cron.next_after(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    assert cron.next_after(datetime(2027, 1, 1, 9, 0, tzinfo=UTC)) == datetime(2027, 1, 1, 9, 15, tzinfo=UTC)
    assert cron.next_after(datetime(2027, 1, 1, 18, 45, tzinfo=UTC)) == datetime(2027, 7, 1, 9, 0, tzinfo=UTC)
    assert cron.next_after(datetime(2027, 7, 1, 18, 45, tzinfo=UTC)) is None


def test_aws_day_of_week_numbering_sunday_is_one() -> None:
    cron = Cron.parse("0 12 ? * 1 *")
    assert cron.next_after(datetime(2026, 11, 25, tzinfo=UTC)) == datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["cron(* * * * *)", "cron(* * * * * * *)", "cron(0 10 * * MON *)",
                                 "cron(0 10 L * ? *)", "rate(0 minutes)", "rate(1 minutes)", "every minute",
                                 "cron(61 * * * ? *)"])
def test_bad_expressions_are_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(ExpressionError):
        Expression.parse(bad, SP)


def test_rate_is_anchored_at_creation() -> None:
    expr = Expression.parse("rate(5 minutes)", SP)
    anchor = datetime(2026, 11, 25, 12, 0, 30, tzinfo=UTC)
    assert expr.next_after(anchor, anchor) == anchor + timedelta(minutes=5)
    assert expr.next_after(anchor + timedelta(minutes=7), anchor) == anchor + timedelta(minutes=10)


def test_scheduler_fires_on_the_driven_clock_with_the_scheduled_event_payload() -> None:
    clock = Clock()
    clock.set(datetime(2026, 11, 25, 12, 58, 30, tzinfo=UTC))  # 09:58:30 in Sao Paulo
    calls: list[tuple[str, dict[str, object]]] = []

    def invoke(function: str, event: dict[str, object]) -> bool:
        calls.append((function, event))
        return True

    sched = Scheduler((Schedule("open", "cron(0 10 ? * MON-FRI *)", "fn", timezone="America/Sao_Paulo"),),
                      clock, invoke)
    assert sched.tick() == 0
    clock.advance(timedelta(minutes=2))
    assert sched.tick() == 1
    function, event = calls[0]
    assert function == "fn"
    assert event["detail-type"] == "Scheduled Event" and event["time"] == "2026-11-25T13:00:00Z"
    assert event["resources"] == ["arn:aws:scheduler:us-east-1:000000000000:schedule/default/open"]
    assert sched.tick() == 0


def test_failed_scheduled_invocations_are_retried_twice() -> None:
    clock = Clock()
    attempts: list[str] = []

    def failing(function: str, event: dict[str, object]) -> bool:
        attempts.append(function)
        return False

    sched = Scheduler((Schedule("s", "rate(1 minute)", "fn"),), clock, failing, retry_delays_s=(0, 0))
    clock.advance(timedelta(seconds=61))
    sched.tick()
    assert len(attempts) == 3
    assert sched.fired[-1][2] is False


def test_scheduled_event_shape() -> None:
    e = scheduled_event(Schedule("x", "rate(1 minute)", "f"), datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert set(e) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
