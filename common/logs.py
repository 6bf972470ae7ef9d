"""Log records as one JSON object per line, for log collectors that read a process's stdout."""

import datetime as dt
import json
import logging

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD_ATTRIBUTES = frozenset(
    logging.LogRecord("", logging.INFO, "", 0, "", None, None).__dict__
) | {"message", "asctime", "taskName"}
_PLAIN_TYPES = (str, int, float, bool, type(None))


class JsonFormatter(logging.Formatter):
    """One line per record: time, level, logger, message, the record's extras, and the traceback
    of an exception when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            # Django attaches the request object itself to django.request records; only plain
            # values belong in a log line.
            if (
                key not in _STANDARD_ATTRIBUTES
                and key not in entry
                and isinstance(value, _PLAIN_TYPES)
            ):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
