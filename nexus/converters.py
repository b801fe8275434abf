"""URL converters: `<snowflake:name>` matches an id the way nexus.snowflake.id_parse
parses one, so views receive an int and a malformed id is a routing 404."""

from nexus.snowflake import id_parse


class SnowflakeConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        parsed = id_parse(value)
        if parsed is None:
            raise ValueError(value)  # Django: this pattern does not match
        return parsed

    def to_url(self, value: int | str) -> str:
        return str(value)
