"""The SDK on the host's CPython, against fake_host: messages, outcomes and the requests it
builds. Every assertion compares with what the Rust SDK says or sends."""

from __future__ import annotations

import unittest
from datetime import timedelta

import fake_host
from componentize_py_types import Err
from wit_world.exports import suite as wit_suite
from wit_world.imports import http, types

import focus_scenarios as fs
from focus_scenarios import suite as sdk_suite


def response(status: int, elapsed_ms: int, body: str = "{}", request: str = "POST /configure?task_id=t1") -> fs.Response:
    return fs.Response(request, status, body.encode(), fs.ms(elapsed_ms))


class Messages(unittest.TestCase):
    def test_within_says_the_time_and_the_limit_as_the_rust_sdk(self) -> None:
        with self.assertRaises(fs.Failure) as caught:
            fs.expect_within(response(503, 15_420, request="POST /config/t1"), fs.seconds(5))
        self.assertEqual(
            caught.exception.message,
            "POST /config/t1 answered 503 after 15.42 s, over the 5.00 s limit",
        )
        self.assertEqual(caught.exception.detail, "response body: {}")

    def test_within_passes_at_the_limit(self) -> None:
        fs.expect_within(response(200, 5000), fs.seconds(5))

    def test_status_lists_what_was_expected(self) -> None:
        with self.assertRaises(fs.Failure) as caught:
            fs.expect_status_in(response(502, 0, "", "POST /configure"), [200, 503])
        self.assertEqual(caught.exception.message, "POST /configure answered 502 after 0.00 s, expected 200 or 503")

    def test_body_contains_quotes_the_needle(self) -> None:
        with self.assertRaises(fs.Failure) as caught:
            fs.expect_body_contains(response(503, 0, '{"error":"timeout"}', "POST /configure"), "database unavailable")
        self.assertEqual(caught.exception.message, 'POST /configure answered 503 without "database unavailable" in its body')

    def test_duration_within(self) -> None:
        with self.assertRaises(fs.Failure) as caught:
            fs.expect_duration_within("recovery", fs.seconds(12), fs.seconds(10))
        self.assertEqual(caught.exception.message, "recovery took 12.00 s, over the 10.00 s limit")

    def test_long_bodies_are_cut_on_a_character(self) -> None:
        with self.assertRaises(fs.Failure) as caught:
            fs.expect_status(response(500, 0, "é" * 3000, "GET /x"), 200)
        self.assertTrue(caught.exception.detail.startswith("response body (6000 bytes, first 4096 shown): é"))

    def test_a_failure_keeps_one_line(self) -> None:
        failure = fs.Failure("a\nb").with_detail("c")
        self.assertEqual((failure.message, failure.detail), ("a", "b\nc"))


class Durations(unittest.TestCase):
    def test_the_rust_sdks_forms(self) -> None:
        self.assertEqual(fs.parse_duration("120s"), timedelta(seconds=120))
        self.assertEqual(fs.parse_duration("1m30s"), timedelta(seconds=90))
        self.assertEqual(fs.parse_duration("1m 5s"), timedelta(seconds=65))
        self.assertEqual(fs.parse_duration("500ms"), timedelta(milliseconds=500))
        self.assertEqual(fs.parse_duration("1h"), timedelta(hours=1))

    def test_nonsense_and_zero_are_refused(self) -> None:
        for text in ["", "5", "5x", "s5", "1.5s", "0s"]:
            with self.assertRaises(ValueError, msg=text):
                fs.parse_duration(text)

    def test_nanos_clamp(self) -> None:
        from focus_scenarios.clock import to_nanos

        self.assertEqual(to_nanos(timedelta(seconds=-1)), 0)
        self.assertEqual(to_nanos(timedelta(days=999_999_999)), (1 << 64) - 1)
        self.assertEqual(to_nanos(fs.ms(1)), 1_000_000)


class Outcomes(unittest.TestCase):
    def setUp(self) -> None:
        fake_host.install()

    def test_each_way_of_ending(self) -> None:
        def host_error() -> None:
            raise fs.NotPermitted("scale redis")

        cases = [
            (lambda: None, wit_suite.Outcome_Passed()),
            (lambda: fs.fail("late"), wit_suite.Outcome_Failed(wit_suite.Failure("late", None))),
            (lambda: fs.skip("no  cluster"), wit_suite.Outcome_Skipped("no cluster")),
            (host_error, wit_suite.Outcome_Error(types.HostError_NotPermitted("scale redis"))),
        ]
        for function, expected in cases:
            self.assertEqual(sdk_suite.outcome_of(function), expected)

    def test_unsupported_skips(self) -> None:
        def memory() -> None:
            raise fs.Unsupported("no metrics API")

        self.assertEqual(
            sdk_suite.outcome_of(memory),
            wit_suite.Outcome_Skipped("the environment cannot do this: no metrics API"),
        )

    def test_a_plain_assert_is_a_failure_quoting_the_line(self) -> None:
        def check() -> None:
            jobs = 2
            assert jobs == 0

        outcome = sdk_suite.outcome_of(check)
        self.assertIsInstance(outcome, wit_suite.Outcome_Failed)
        self.assertEqual(outcome.value.message, "check failed: assert jobs == 0")
        self.assertIn("test_sdk.py:", outcome.value.detail)

    def test_a_host_err_from_an_import_becomes_the_sdks_error(self) -> None:
        def refuse(request: object) -> None:
            raise Err(types.HostError_Failed("cannot connect: refused"))

        fake_host.answers["send"] = refuse
        with self.assertRaises(fs.HostFailed) as caught:
            fs.get("/health")
        self.assertEqual(str(caught.exception), "failed: cannot connect: refused")

    def test_another_exception_reports_its_traceback_and_propagates(self) -> None:
        @fs.scenario(name="divides_by_zero")
        def divides() -> None:
            1 / 0

        with self.assertRaises(ZeroDivisionError):
            fs.Suite().run("divides_by_zero")
        reported = [args[0] for name, args in fake_host.calls if name == "report_panic"]
        self.assertEqual(len(reported), 1)
        first, _, rest = reported[0].partition("\n")
        self.assertTrue(first.startswith("exception: ZeroDivisionError: division by zero (at "), first)
        self.assertIn("Traceback (most recent call last)", rest)

    def test_an_unknown_name_lists_the_scenarios(self) -> None:
        outcome = fs.Suite().run("nope")
        self.assertIsInstance(outcome, wit_suite.Outcome_Failed)
        self.assertIn("no scenario named `nope`", outcome.value.message)


class Registration(unittest.TestCase):
    def test_meta_comes_from_the_decorator_and_the_docstring(self) -> None:
        @fs.scenario(tags=["p0", "sla"], key="PZ-13640", timeout="60s")
        def registered_example() -> None:
            """First paragraph
            on two lines.

            Not this one."""

        meta = next(m for m in fs.Suite().scenarios() if m.name == "registered_example")
        self.assertEqual(meta.description, "First paragraph on two lines.")
        self.assertEqual((meta.tags, meta.key, meta.timeout), (["p0", "sla"], "PZ-13640", 60_000_000_000))

    def test_a_repeated_name_or_a_bad_timeout_is_refused(self) -> None:
        @fs.scenario
        def once() -> None: ...

        with self.assertRaises(ValueError):
            fs.scenario(once)
        with self.assertRaises(ValueError):
            fs.scenario(timeout="soon")(lambda: None)


class Requests(unittest.TestCase):
    def setUp(self) -> None:
        fake_host.install()

    def test_configure_sends_one_post_and_stops_its_job_at_rollback(self) -> None:
        fake_host.answers["send"] = lambda request: http.Response(
            "POST /configure?task_id=t%201", 200, [], b'{"job_id": "j-1"}', 4_000_000
        )
        answer = fs.configure("t 1", {"view_type": "0"})
        self.assertEqual(answer.elapsed, fs.ms(4))
        sent = [args[0] for name, args in fake_host.calls if name == "send"]
        self.assertEqual(len(sent), 1)
        self.assertEqual((sent[0].service, sent[0].method, sent[0].path), ("focus-server", http.Method.POST, "/configure?task_id=t%201"))
        self.assertEqual(sent[0].body, b'{"view_type": "0"}')
        rollback = [args[0] for name, args in fake_host.calls if name == "on_rollback"]
        self.assertEqual([(r.method, r.path) for r in rollback], [(http.Method.DELETE, "/job/j-1")])

    def test_keep_job_and_503_register_nothing(self) -> None:
        fs.configure("t", {}, keep_job=True)
        fake_host.answers["send"] = lambda request: http.Response("POST /configure", 503, [], b"{}", 0)
        fs.configure("t", {})
        self.assertFalse([c for c in fake_host.calls if c[0] == "on_rollback"])

    def test_wait_until_gives_up_with_the_count(self) -> None:
        with self.assertRaises(fs.Failure) as caught:
            fs.wait_until("godot", fs.seconds(1), fs.ms(100), lambda: False)
        self.assertEqual(caught.exception.message, "gave up waiting for godot after 1.00 s (11 checks)")

    def test_params_and_task_ids(self) -> None:
        fake_host.answers["param"] = lambda name: "2.5" if name == "sla_s" else None
        self.assertEqual(fs.param_float("sla_s", 5.0), 2.5)
        self.assertEqual(fs.param("other", "x"), "x")
        self.assertNotEqual(fs.task_id("a"), fs.task_id("a"))
        self.assertTrue(fs.task_id("a").startswith("a-run-1-"))


if __name__ == "__main__":
    unittest.main()
