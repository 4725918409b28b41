"""scripts/notify.py against stand-in ntfy and Slack servers on 127.0.0.1."""

import json
import subprocess
import time

import pytest

from standins import SCRIPTS, NtfyStandIn, SlackStandIn, closed_port_url, script

notify = script("notify")


def notifier(**settings) -> "notify.Notifier":
    values = {"NOTIFY_TIMEOUT": "2", "NOTIFY_RETRY_DELAY": "0.05"}
    values.update(settings)
    return notify.Notifier.from_settings(values)


@pytest.fixture
def ntfy():
    with NtfyStandIn() as server:
        yield server


@pytest.fixture
def slack():
    with SlackStandIn() as server:
        yield server


@pytest.mark.parametrize("level, priority, tag", [
    ("info", "2", "information_source"),
    ("success", "3", "white_check_mark"),
    ("warning", "4", "warning"),
    ("error", "5", "rotating_light"),
])
def test_ntfy_gets_title_priority_and_emoji_tags(ntfy, level, priority, tag):
    assert notifier(NTFY_SERVER=ntfy.url, NTFY_TOPIC="ctv-ops").send(level, "CTV test", "body text")
    [request] = ntfy.received
    assert request.path == "/ctv-ops"
    assert request.headers["Title"] == "CTV test"
    assert request.headers["Priority"] == priority
    assert request.headers["Tags"] == tag
    assert request.text == "body text"
    assert "Authorization" not in request.headers


def test_a_token_is_sent_as_bearer_and_a_wrong_one_is_not_retried(ntfy):
    ntfy.token = "tk_right"
    assert notifier(NTFY_SERVER=ntfy.url, NTFY_TOPIC="t", NTFY_TOKEN="tk_right").send("info", "x", "y")
    assert ntfy.received[-1].headers["Authorization"] == "Bearer tk_right"
    assert not notifier(NTFY_SERVER=ntfy.url, NTFY_TOPIC="t", NTFY_TOKEN="tk_wrong").send("info", "x", "y")
    assert not notifier(NTFY_SERVER=ntfy.url, NTFY_TOPIC="t").send("info", "x", "y")
    assert [r.status for r in ntfy.received] == [200, 403, 401]


def test_non_ascii_title_becomes_ascii_and_the_body_stays_utf8(ntfy):
    body = "Customer Phở Hòa Café 華語電視: spots 3 → 4"
    assert notifier(NTFY_SERVER=ntfy.url, NTFY_TOPIC="t").send("success", "Import: Phở Hòa Café 華語", body)
    [request] = ntfy.received
    assert request.headers["Title"] == "Import: Pho Hoa Cafe ??"
    assert request.text == body


def test_a_rate_limited_or_failing_server_is_asked_once_more(ntfy):
    ntfy.fail_first, ntfy.failure = 1, 429
    assert notifier(NTFY_SERVER=ntfy.url, NTFY_TOPIC="t").send("info", "x", "y")
    ntfy.fail_first, ntfy.failure = 2, 503
    assert not notifier(NTFY_SERVER=ntfy.url, NTFY_TOPIC="t").send("info", "x", "y")
    assert [r.status for r in ntfy.received] == [429, 200, 503, 503]


def test_a_body_over_the_ntfy_limit_is_trimmed_from_the_detail_not_the_verdict(ntfy):
    verdict = "Daily import failed with exit code 1."
    body = notify.fit_body(verdict, "ü" * 5000 + "\nthe last line")
    assert len(body.encode()) <= notify.BODY_LIMIT < 4096
    assert body.startswith(verdict + "\n…") and body.endswith("the last line")
    assert notifier(NTFY_SERVER=ntfy.url, NTFY_TOPIC="t").send("error", "x", verdict + "\n" + "é" * 6000)
    assert ntfy.received[0].status == 200 and len(ntfy.received[0].body) <= 4096


def test_the_ntfy_stand_in_refuses_what_ntfy_refuses(ntfy):
    import urllib.error
    import urllib.request
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(urllib.request.Request(ntfy.url + "/t", data=b"x" * 4097), timeout=5)
    assert error.value.code == 413


def test_slack_success_means_200_with_body_ok(slack):
    assert notifier(SLACK_WEBHOOK_URL=slack.webhook).send("error", "CTV failed", "Phở: details")
    [request] = slack.received
    assert request.headers["Content-Type"].startswith("application/json")
    text = json.loads(request.body)["text"]
    assert text.startswith(":rotating_light: *CTV failed*\n") and "Phở: details" in text
    slack.fail_first, slack.failure = 1, 200  # 200 with a body other than `ok`
    assert not notifier(SLACK_WEBHOOK_URL=slack.webhook).send("info", "x", "y")
    assert not notifier(SLACK_WEBHOOK_URL=slack.url + "/services/wrong").send("info", "x", "y")


def test_slack_429_waits_for_retry_after_once(slack):
    slack.fail_first, slack.failure, slack.retry_after = 1, 429, 1
    started = time.monotonic()
    assert notifier(SLACK_WEBHOOK_URL=slack.webhook).send("info", "x", "y")
    assert time.monotonic() - started >= 1.0
    assert [r.status for r in slack.received] == [429, 200]
    slack.fail_first = 2
    assert not notifier(SLACK_WEBHOOK_URL=slack.webhook).send("info", "x", "y")


def test_slack_403_is_not_retried(slack):
    slack.fail_first, slack.failure = 5, 403
    assert not notifier(SLACK_WEBHOOK_URL=slack.webhook).send("info", "x", "y")
    assert [r.status for r in slack.received] == [403]


def test_both_channels_are_used_and_one_failing_does_not_stop_the_other(ntfy, slack):
    ntfy.fail_first, ntfy.failure = 2, 500
    assert not notifier(NTFY_SERVER=ntfy.url, NTFY_TOPIC="t", SLACK_WEBHOOK_URL=slack.webhook).send("info", "x", "y")
    assert len(ntfy.received) == 2 and [r.status for r in slack.received] == [200]


def test_a_server_that_is_down_or_slow_returns_false_within_the_timeouts(ntfy):
    started = time.monotonic()
    assert not notifier(NTFY_SERVER=closed_port_url(), NTFY_TOPIC="t").send("info", "x", "y")
    ntfy.delay = 1.5
    assert not notifier(NTFY_SERVER=ntfy.url, NTFY_TOPIC="t", NOTIFY_TIMEOUT="0.3").send("info", "x", "y")
    assert time.monotonic() - started < 3.0


def test_nothing_configured_or_a_malformed_url_never_raises():
    assert not notifier().send("info", "x", "y")
    assert not notifier(NTFY_SERVER="not a url", NTFY_TOPIC="t").send("info", "x", "y")


def test_the_script_sends_a_test_message(tmp_path, ntfy):
    env_file = tmp_path / "ctv.env"
    env_file.write_text(f"NTFY_SERVER={ntfy.url}\nNTFY_TOPIC=ctv-ops\n")
    result = subprocess.run([SCRIPTS / "notify.py", "--env-file", env_file, "--level", "warning", "Hello"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert ntfy.received[0].headers["Priority"] == "4"
    env_file.write_text(f"NTFY_SERVER={closed_port_url()}\nNTFY_TOPIC=t\nNOTIFY_RETRY_DELAY=0\n")
    assert subprocess.run([SCRIPTS / "notify.py", "--env-file", env_file, "Hello"], capture_output=True).returncode == 1
