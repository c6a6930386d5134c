"""Where the database lives unless told otherwise."""

import os

DEFAULT_DB_PATH = "./screening.db"


def default_db_path() -> str:
    return os.environ.get("SCREENING_DB_PATH") or DEFAULT_DB_PATH
