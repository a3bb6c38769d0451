"""Is an environment variable a credential? Judged from its name as words, and from its value.

A name is split into words (``_``, ``-``, ``.``, camelCase). It names a credential when it contains a
credential noun (secret, password, passwd, pass, token, key, credentials, ...) that is not qualified
as public (``PUBLIC_KEY``, ``CACHE_KEY``) and the name does not end in a word that makes it metadata
about the credential (``KEY_ID``, ``JWT_SECRET_ARN``, ``TOKEN_TTL_SECONDS``, ``PUBLIC_KEY_URL``), or
when it is a connection string of a data store (``DATABASE_URL``, ``REDIS_URL``, ``MONGO_URI``,
``*_DSN``). Values give credentials away on their own (a URL with a password, a private key,
service-account JSON, a JWT, an AWS access key). A credential-named variable whose value is only a
reference (empty, an ARN, an absolute file path such as GOOGLE_APPLICATION_CREDENTIALS) is not a leak.
"""

from __future__ import annotations

import re


def name_words(name: str) -> list[str]:
    spaced = name
    if any(c.islower() for c in name):  # camelCase; an ALL_CAPS name (NEO4J_URL) is split only on separators
        spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", spaced)
        spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return [w.lower() for w in re.split(r"[\s_\-.:/]+", spaced) if w]


def credential_nouns() -> frozenset[str]:
    return frozenset({
        "secret", "secrets", "password", "passwords", "passwd", "pass", "pwd", "passphrase", "token", "tokens",
        "credential", "credentials", "creds", "key", "keys", "apikey", "privatekey", "secretkey", "accesskey",
        "pat", "salt", "pepper", "dsn",
    })


def public_qualifiers() -> frozenset[str]:
    """Words that, right before "key" or "token", make it something other than a credential."""
    return frozenset({
        "public", "publishable", "pub", "cache", "partition", "sort", "primary", "foreign", "object",
        "idempotency", "routing", "hash", "lookup", "index", "dedup", "dedupe", "shard", "row", "metric",
        "label", "storage", "s3", "bucket", "csrf", "page", "cursor", "continuation",
    })


def metadata_words() -> frozenset[str]:
    """A name ending in one of these describes a credential rather than holding one."""
    return frozenset({
        "id", "ids", "arn", "arns", "name", "names", "url", "uri", "urls", "path", "paths", "file", "files", "dir",
        "directory", "location", "ttl", "seconds", "secs", "sec", "ms", "millis", "minutes", "mins", "hours", "days",
        "expiry", "expires", "expiration", "lifetime", "length", "len", "size", "min", "max", "header", "headers",
        "prefix", "suffix", "field", "type", "algorithm", "alg", "issuer", "audience", "version", "enabled",
        "disabled", "required", "mode", "rotation", "ref", "reference", "endpoint", "region", "hint", "format",
        "count", "limit", "policy", "rounds", "cost", "iterations", "strength", "complexity", "in", "at", "timeout",
        "interval", "host", "port", "user", "username", "provider", "source", "kind", "param", "parameter",
        "domain", "tag", "env", "store", "vault", "manager", "scope", "scopes",
    })


def data_store_words() -> frozenset[str]:
    return frozenset({
        "database", "db", "redis", "mongo", "mongodb", "postgres", "postgresql", "pg", "mysql", "mariadb", "amqp",
        "rabbitmq", "rabbit", "broker", "cache", "sql", "mssql", "sqlserver", "neo4j", "cassandra", "memcached",
        "valkey", "elasticsearch", "opensearch", "kafka", "nats", "celery", "connection",
    })


def is_credential_name(name: str) -> bool:
    words = name_words(name)
    if not words:
        return False
    last = words[-1]
    if last in ("url", "uri", "urls", "dsn", "string") and any(w in data_store_words() for w in words[:-1]):
        return True  # a connection string: DATABASE_URL, REDIS_URL, MONGO_URI, DB_CONNECTION_STRING
    if last in metadata_words():
        return False
    if words == ["pwd"]:
        return False  # the shell's working directory
    nouns = credential_nouns()
    qualifiers = public_qualifiers()
    for index, word in enumerate(words):
        qualified = index > 0 and words[index - 1] in qualifiers and word in ("key", "keys", "token", "tokens")
        if word in nouns and not qualified:
            return True
    return False


def value_is_reference(value: str) -> bool:
    """A value that points at a credential instead of holding one."""
    stripped = value.strip()
    if not stripped:
        return True
    if stripped.startswith("arn:aws") and " " not in stripped:
        return True
    return bool(re.fullmatch(r"/[\w./@+-]+", stripped))


def value_patterns() -> list[tuple[re.Pattern[str], str]]:
    return [
        (re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@", re.I), "a connection string with a password"),
        (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
        (re.compile(r'"private_key"\s*:'), "service-account JSON"),
        (re.compile(r"^eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+$"), "a JWT"),
        (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key"),
    ]


def credential_in(name: str, value: str) -> str | None:
    """Why ``name=value`` in plain text is a credential, or None."""
    for pattern, kind in value_patterns():
        if pattern.search(value):
            return f"its value looks like {kind}"
    if is_credential_name(name) and not value_is_reference(value):
        return "its name marks a credential"
    return None
