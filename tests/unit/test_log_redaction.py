"""No personal data in the log: whatever voicegw logger logs it, in the message, the arguments, an
exception or a stack, and whichever handler writes it."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from voicegw import cli
from voicegw.privacy.logs import (
    RedactingFilter,
    install_log_redaction,
    log_redaction_installed,
    uninstall_log_redaction,
)

PHONE, EMAIL, CARD = "010-1234-5678", "kim.minsu@naver.com", "4111 1111 1111 1111"
SECRETS = (PHONE, "01012345678", EMAIL, CARD, "1234-5678")


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What a root handler writes, as a plain stream handler with the CLI's format."""
    uninstall_log_redaction()  # building a gateway app (other tests) installs it process-wide
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)
    uninstall_log_redaction()


def _log_personal_data() -> None:
    logging.getLogger("voicegw.gateway.app").info("call back %s or mail %s", PHONE, EMAIL)
    logging.getLogger("voicegw.pipeline").warning(f"transcript: 카드 {CARD} 로 결제, 번호 01012345678")
    try:
        raise ValueError(f"bad body {{'phone': '{PHONE}', 'email': '{EMAIL}'}}")
    except ValueError:
        logging.getLogger("voicegw.gateway.errors").exception("unhandled error on %s %s", "POST", "/skill")
    logging.getLogger("voicegw.backend.server").error("at %s", "공일공 일이삼사 오육칠팔", stack_info=True)
    logging.getLogger("voicegw.dialogue").info("bad format %s %s", EMAIL)  # one argument short


def test_without_redaction_the_data_would_be_logged(log_output: io.StringIO) -> None:
    """The control: the same calls leak everything when nothing redacts."""
    logging.raiseExceptions = False  # the short format call would print a logging error
    try:
        _log_personal_data()
    finally:
        logging.raiseExceptions = True
    text = log_output.getvalue()
    assert PHONE in text and EMAIL in text and CARD in text


def test_voicegw_loggers_never_write_personal_data(log_output: io.StringIO) -> None:
    install_log_redaction()
    _log_personal_data()
    text = log_output.getvalue()
    for secret in SECRETS:
        assert secret not in text
    assert "일이삼사" not in text
    assert "call back <phone> or mail <email>" in text
    assert "transcript: 카드 <card> 로 결제, 번호 <phone>" in text
    assert "unhandled error on POST /skill" in text and "ValueError: bad body {'phone': '<phone>'" in text
    assert "at <phone>" in text and "Stack (most recent call last)" in text
    assert "bad format" in text and "<email>" in text


def test_handlers_added_later_see_redacted_records_too(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("voicegw.faq_sync").info("entry %s", EMAIL)
        assert caplog.records[-1].getMessage() == "entry <email>"
        assert EMAIL not in caplog.text
    finally:
        uninstall_log_redaction()


def test_install_is_idempotent_and_undone() -> None:
    install_log_redaction()
    install_log_redaction()
    assert log_redaction_installed()
    uninstall_log_redaction()
    assert not log_redaction_installed()


def test_a_filter_redacts_one_handler() -> None:
    uninstall_log_redaction()  # building a gateway app (other tests) installs it process-wide
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("voicegw.test_filter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("phone %s", PHONE)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert stream.getvalue() == "phone <phone>\n"


def test_the_command_line_installs_redaction(log_output: io.StringIO, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["parse", "아이스 아메리카노 두 잔", "--store", "cafe-ko", "--lang", "ko"]) == 0
    logging.getLogger("voicegw.gateway.app").info("customer %s", PHONE)
    assert "customer <phone>" in log_output.getvalue()
