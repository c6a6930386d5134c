"""/reassess in the coordinator's language (issue 16): after a protocol change, a Chinese coordinator's list
names the referral's status, the recorded and new outcomes and each criterion's change in Chinese words
(the code words of records/reassess.py are msgids), listed with "、"; the operator's CLI stays English."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from telegram_harness import COORDINATOR, Harness, message, texts

from bot.cli import main
from bot.telegram import coordinator
from conversations.records.schema import PROTOCOL_1
from criteria import PROTOCOL_VERSION

FIXTURE = Path(__file__).parent / "data" / "protocol1.db"  # protocol 1's referrals (test_protocol_migration.py)
DECLINED, RELAPSED = "R-AY2H-YYF7", "R-KRA9-QV0X"
CODE_WORDS = re.compile(r"\b(eligible|ineligible|incomplete|sent|need_info|accepted|declined|amending|passes|"
                        r"fails|pending|unknown|or)\b", re.IGNORECASE)


async def _reassess(tmp_path: Path, language_code: str) -> str:
    shutil.copy(FIXTURE, tmp_path / "screening.db")
    update = message(COORDINATOR, "/reassess", update_id=100_000)  # above the fixture bot's update IDs
    update["message"]["from"]["language_code"] = language_code
    async with Harness(tmp_path, physicians=(1001, 1002)) as h:
        (reply,) = texts(await h.feed(update))
    return reply


async def test_a_chinese_coordinators_reassess_has_no_english_code_words(tmp_path):
    reply = await _reassess(tmp_path, "zh-hans")
    assert DECLINED in reply and RELAPSED in reply
    words = reply
    for kept in (PROTOCOL_1, PROTOCOL_VERSION):  # the protocols' names are identifiers, as the referral IDs
        words = words.replace(kept, "")
    assert not CODE_WORDS.findall(words), reply
    line = next(x for x in reply.splitlines() if DECLINED in x)
    assert "拒绝" in line and "不符合条件" in line and "符合筛选条件" in line, line  # declined, ineligible → eligible
    assert "E3c 不符合 → 待定" in line, line
    relapsed = next(x for x in reply.splitlines() if RELAPSED in x)
    assert "I2c 不符合 → 符合" in relapsed and "、" in relapsed and ", " not in relapsed, relapsed


async def test_an_english_coordinator_and_the_cli_keep_the_english_words(tmp_path, capsys):
    reply = await _reassess(tmp_path, "en")
    assert "E3c fails → pending" in reply and "(declined)" in reply and "、" not in reply
    assert main(["reassess", "--db", str(tmp_path / "screening.db")]) == 0
    out = capsys.readouterr().out
    assert f"{DECLINED} (declined): recorded ineligible under protocol {PROTOCOL_1}, now eligible" in out
    assert not re.search(r"[\u4e00-\u9fff]", out), "the operator's text is English"


def test_every_code_word_of_reassess_has_a_msgid():
    from conversations.records import reassess

    assert set(reassess._CLASS.values()) | {"passes or unknown"} <= set(coordinator.REASSESS_CLASS)
    assert set(coordinator.REASSESS_OUTCOME_STATUS) == {"eligible", "ineligible", "incomplete"}
    assert {"sent", "need_info", "accepted", "declined", "amending"} <= set(coordinator.REASSESS_REFERRAL_STATUS)
