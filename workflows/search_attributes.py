"""Custom search attributes: what operators filter on in the Web UI and `bunker permits list`."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

STATUS = SearchAttributeKey.for_keyword("BunkerStatus")
STAGE = SearchAttributeKey.for_keyword("BunkerStage")
DISTRICT = SearchAttributeKey.for_keyword("BunkerDistrict")
ENTERPRISE = SearchAttributeKey.for_keyword("BunkerEnterprise")
CREDIT_CODE = SearchAttributeKey.for_keyword("BunkerCreditCode")
PERMIT_NUMBER = SearchAttributeKey.for_keyword("BunkerPermitNumber")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("BunkerNextDeadline")
PERMIT_EXPIRY = SearchAttributeKey.for_datetime("BunkerPermitExpiry")
DORMANT = SearchAttributeKey.for_bool("BunkerDormant")

ALL = (STATUS, STAGE, DISTRICT, ENTERPRISE, CREDIT_CODE, PERMIT_NUMBER, NEXT_DEADLINE, PERMIT_EXPIRY, DORMANT)

_CLI_TYPE = {"KEYWORD": "Keyword", "DATETIME": "Datetime", "BOOL": "Bool", "TEXT": "Text", "INT": "Int"}


def dev_server_args() -> list[str]:
    """`--search-attribute NAME=Type` flags that register ours on the Temporal dev server at launch."""
    args: list[str] = []
    for key in ALL:
        args += ["--search-attribute", f"{key.name}={_CLI_TYPE[key.indexed_value_type.name.removeprefix('INDEXED_VALUE_TYPE_')]}"]
    return args
