"""A shell script as the shell runs it: every simple command, whatever control flow surrounds it.

``bashlex`` parses the script into a tree (lists with ``&&``/``||``/``;``, pipelines, ``if``/``while``/
``until``/``for``, subshells, groups, functions, command substitutions); each simple command comes
back as its words, with quotes removed and assignments/redirections left out. What bashlex cannot
parse (``case``, ``[[ ]]``, ``time``, unbalanced quotes) falls back, line by line, to a tokenizer
that splits on the shell's operators and drops reserved words: cruder, but it never hides a command.
"""

from __future__ import annotations

import functools
import shlex
from types import ModuleType

OPERATOR_CHARS = frozenset(";&|()<>")


def reserved_words() -> frozenset[str]:
    """Words that open or close control flow rather than name a program (for the fallback)."""
    return frozenset({
        "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "in", "case", "esac",
        "select", "function", "{", "}", "!", "[[", "]]", "time", "coproc",
    })


def _walk(node, found: list[list[str]]) -> None:
    if node.kind == "command":
        words = [part.word for part in node.parts if part.kind == "word"]
        if words:
            found.append(words)
    for attribute in ("parts", "list"):
        for child in getattr(node, attribute, None) or []:
            _walk(child, found)
    inner = getattr(node, "command", None)  # command substitutions and process substitutions hold a tree
    if inner is not None:
        _walk(inner, found)


def _fallback(line: str) -> list[list[str]]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: words are still words
        tokens = line.split()
    commands: list[list[str]] = []
    current: list[str] = []
    reserved = reserved_words()
    for token in tokens:
        if token and set(token) <= OPERATOR_CHARS:
            if current:
                commands.append(current)
            current = []
        elif current or token not in reserved:
            current.append(token)
    if current:
        commands.append(current)
    return commands


@functools.cache
def _bashlex() -> ModuleType:
    # Imported when the first script is parsed: bashlex builds its parser tables at import (~0.2 s of
    # CPU), and most pack runs never meet a shell script (3 of the test suite's 21 pack processes did).
    import bashlex
    import bashlex.errors

    return bashlex


def _unparsable() -> tuple[type[Exception], ...]:
    """What bashlex raises for a script it cannot read: its own error, and a few from its internals."""
    return (_bashlex().errors.ParsingError, NotImplementedError, AttributeError, IndexError, TypeError, ValueError)


def _parse(text: str) -> list[list[str]]:
    found: list[list[str]] = []
    for tree in _bashlex().parse(text):
        _walk(tree, found)
    return found


def simple_commands(script: str) -> list[list[str]]:
    """The words of every simple command in ``script``, in order."""
    if not script.strip():
        return []
    try:
        return _parse(script)
    except _unparsable():
        pass
    found: list[list[str]] = []
    for line in script.splitlines():
        if not line.strip():
            continue
        try:
            found += _parse(line)
        except _unparsable():
            found += _fallback(line)
    return found


def looks_like_script(word: str) -> bool:
    """A single exec-form word that is really a shell command line (``["npx prisma migrate deploy"]``)."""
    stripped = word.strip()
    return " " in stripped or "\n" in stripped or any(op in stripped for op in ("&&", ";", "|"))  # "|" covers "||"
