"""Run a chapter of the book with checked parameters: ``slowmem chapter NAME -p KEY VALUE ...``.

Every chapter notebook ``book/NAME.ipynb`` starts with a code cell tagged
``parameters``. This module reads that cell, checks the values a reader passes
**before any work starts** (unknown names and bad values are refused with a
message that lists what is allowed), and then runs the notebook through
papermill with the checked values.

The parameter-line convention
-----------------------------
The ``parameters`` cell holds only blank lines, whole-line comments and one
line per parameter of the form::

    NAME = DEFAULT  # TYPE: help text

* ``NAME`` is a Python identifier, each at most once.
* ``DEFAULT`` is a Python literal (number, string in quotes, ``True`` /
  ``False``, ``None``) on that one line; it must satisfy ``TYPE``.
* The line holds exactly one ``=`` and ``DEFAULT`` holds no ``#``: papermill
  drops a line with a second ``=`` (even inside the comment) from its list of
  parameters, and cuts the value at the first ``#``. Write "at most", "a
  multiple of", "between" in the help text, never ``=``, ``<=`` or ``>=``.
* ``TYPE`` is what is checked, and ends at the first ``:`` after the ``#``.
  It is one of

  ======================================  ===============================================
  ``int`` / ``int in [LO, HI]``           an integer (a whole float such as ``20.0`` too)
  ``float`` / ``float in (LO, HI]``       a finite number; ``[`` ``]`` closed, ``(`` ``)``
                                          open ends, ``-inf`` / ``inf`` for no bound
  ``str``                                 any text
  ``bool``                                ``True`` or ``False``
  ``choice of A, B, C``                   one of the listed words
  ``seeds``                               a seed list for :func:`slowmem.config.parse_seeds`:
                                          ``5``, ``"0-7"``, ``"0,3,5-7"``
  ``population``                          a sweep results folder holding ``manifest.json``, a
                                          folder of them indexed by ``population.json``, or the
                                          word ``live`` (train a small population now)
  ``file``                                an existing file
  ``config``                              the config field of the same name: its declared
                                          type, range and help (:data:`slowmem.config.PARAMS`);
                                          the line's help text is added to the declared help
  ======================================  ===============================================

  Any ``TYPE`` may end in ``or None`` (then ``None`` is allowed too), and a
  ``float`` range may be followed by ``, multiple of STEP``. Relative
  ``population`` and ``file`` paths are taken from the notebook's folder
  (``book/``), where the chapter runs.

Examples::

    delay1 = 5.0  # float in [0.1, 1000], multiple of 0.1: duration of delay 1 (tau)
    population = "data/population"  # population: a sweep results folder, or "live"
    preset = "ci"  # choice of ci, book, paper: scale preset
    N = None  # config or None: (None keeps the preset's)
    seeds = "0-3"  # seeds: networks trained together as one batch

Values given on the command line
--------------------------------
``-p KEY VALUE`` values are read as papermill's own ``-p`` reads them:
``True`` / ``False`` / ``None``, then an integer, then a float, else the text
itself. Parameters of type ``str``, ``choice``, ``seeds``, ``population`` and
``file`` keep the text as given (``-p seeds 5`` passes ``"5"``); ``bool``
also accepts ``true`` / ``false``. The checked value is what papermill injects
(an ``int`` given to a ``float`` parameter arrives as a float).
"""
from __future__ import annotations

import ast
import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slowmem.book import locate_book
from slowmem.config import PARAMS, ConfigError, check_choice, check_number, interval_text, parse_seeds
from slowmem.errors import SlowmemError

__all__ = ["ParameterSpec", "ChapterParameters", "parse_parameter_line", "read_parameters", "parse_cli_value",
           "check_values", "find_chapter", "chapter_names", "format_parameters", "run_chapter",
           "KINDS"]

#: The book folder of a source checkout (``slowmem chapter --book`` points elsewhere).

#: Parameter types of the convention.
KINDS: tuple[str, ...] = ("int", "float", "str", "bool", "choice", "seeds", "population", "file")
#: Types whose command-line value is kept as the text given.
_TEXT_KINDS = ("str", "choice", "seeds", "population", "file")

_LINE = re.compile(r"^(?P<name>[A-Za-z_]\w*)\s*=\s*(?P<value>[^#]*?)\s*#\s*(?P<comment>.*?)\s*$")
_RANGE = re.compile(r"^(?P<lb>[\[(])\s*(?P<lo>[^,\s]+)\s*,\s*(?P<hi>[^\]\)\s]+)\s*(?P<hb>[\])])$")
_WORD = re.compile(r"^[A-Za-z0-9_.+\-]+$")


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter of a chapter, as its ``parameters`` line declares it.

    Attributes:
        name: the variable name.
        kind: one of :data:`KINDS`.
        default: the literal value of the line.
        help: the text after ``TYPE:``.
        optional: ``None`` is allowed (``... or None``).
        lo, hi, lo_open, hi_open: bounds of an ``int`` / ``float`` (None: unbounded).
        multiple_of: a ``float`` must be a whole multiple of this (None: any).
        choices: the words of a ``choice``.
        line: 1-based line number in the cell.
    """

    name: str
    kind: str
    default: Any
    help: str = ""
    optional: bool = False
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    multiple_of: float | None = None
    choices: tuple[str, ...] = ()
    line: int = 0

    def describe(self) -> str:
        """The type as the convention writes it, e.g. ``float in [0.1, 1000]``."""
        if self.kind in ("int", "float"):
            text = self.kind
            if self.lo is not None or self.hi is not None:
                text += f" in {interval_text(self.lo, self.hi, self.lo_open, self.hi_open)}"
            if self.multiple_of is not None:
                text += f", multiple of {_fmt(self.multiple_of)}"
        elif self.kind == "choice":
            text = "choice of " + ", ".join(self.choices)
        else:
            text = self.kind
        return text + (" or None" if self.optional else "")

    def check(self, value: Any, base_dir: Path | None = None) -> Any:
        """The cleaned ``value``, or :class:`~slowmem.config.ConfigError` naming the parameter and what is allowed.

        ``base_dir``: the folder relative ``population`` / ``file`` paths are
        taken from (default: the current directory).
        """
        if value is None:
            if self.optional:
                return None
            raise ConfigError(f"{self.name} must be {self._allowed()}; got None")
        k = self.kind
        if k in ("int", "float"):
            limits = {"lo": self.lo, "hi": self.hi, "lo_open": self.lo_open, "hi_open": self.hi_open}
            if k == "int":
                if isinstance(value, float) and not value.is_integer():
                    raise ConfigError(f"{self.name} must be {self._allowed()}; got {value!r}")
                return check_number(self.name, value, integer=True, **limits)
            v = float(check_number(self.name, value, **limits))
            if self.multiple_of is not None:
                n = round(v / self.multiple_of)
                if abs(v - n * self.multiple_of) > 1e-9 * max(1.0, abs(v)):
                    raise ConfigError(f"{self.name} must be {self._allowed()}; got {value!r} "
                                      f"(nearest allowed: {_fmt(round(n * self.multiple_of, 12))})")
            return v
        if k == "bool":
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            if not isinstance(value, bool):
                raise ConfigError(f"{self.name} must be {self._allowed()}; got {value!r}")
            return value
        if k == "choice":
            return check_choice(self.name, value, self.choices)
        if k == "str":
            if not isinstance(value, str):
                raise ConfigError(f"{self.name} must be {self._allowed()}; got {value!r} ({type(value).__name__})")
            return value
        if k == "seeds":
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise ConfigError(f"{self.name} must be {self._allowed()}; got {value!r}")
            try:
                parse_seeds(value)
            except ConfigError as e:
                raise ConfigError(f"{self.name}: {e}") from None
            return value
        if k in ("population", "file"):
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{self.name} must be {self._allowed()}; got {value!r}")
            if k == "population" and value == "live":
                return value
            p = Path(value).expanduser()
            if not p.is_absolute() and base_dir is not None:
                p = Path(base_dir) / p
            if k == "file" and not p.is_file():
                raise ConfigError(f"{self.name} must be {self._allowed()}; {value!r} is not a file ({p})")
            if k == "population":
                if not p.is_dir():
                    raise ConfigError(f"{self.name} must be {self._allowed()}; the folder {value!r} does not exist "
                                      f"({p})")
                if not (p / "manifest.json").is_file() and not (p / "population.json").is_file():
                    raise ConfigError(f"{self.name} must be {self._allowed()}; {value!r} has neither manifest.json "
                                      "nor population.json, so it is not a sweep results folder or population")
            return value
        raise ConfigError(f"{self.name}: unknown parameter type {k!r}; allowed: {', '.join(KINDS)}")

    def _allowed(self) -> str:
        k = self.kind
        text = {"int": "an integer", "float": "a number", "str": "a text", "bool": "True or False",
                "seeds": "a seed list ('0-7', '0,3,5-7' or an integer)",
                "population": "a sweep results folder (manifest.json), a population of them (population.json), "
                              "or 'live'",
                "file": "an existing file"}.get(k)
        if k in ("int", "float") and (self.lo is not None or self.hi is not None or self.multiple_of is not None):
            text += " " + self.describe().split(" ", 1)[1].removesuffix(" or None")
        if k == "choice":
            text = "one of " + ", ".join(map(repr, self.choices))
        return text + (", or None" if self.optional else "")


@dataclass
class ChapterParameters:
    """The parsed ``parameters`` cell of one notebook.

    Attributes:
        path: the notebook.
        specs: name -> :class:`ParameterSpec`, in cell order.
        problems: lines that do not follow the convention (empty when it is followed).
        source: the cell's text (empty if the notebook has no ``parameters`` cell).
    """

    path: Path | None
    specs: dict[str, ParameterSpec] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    source: str = ""

    def require_convention(self) -> None:
        """Raise :class:`~slowmem.config.ConfigError` listing every line that breaks the convention."""
        if self.problems:
            where = self.path.name if self.path is not None else "the notebook"
            raise ConfigError(f"the parameters cell of {where} does not follow the convention of "
                              "slowmem.book.chapters (NAME = DEFAULT  # TYPE: help):\n  " + "\n  ".join(self.problems))


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _bound(text: str, line: int) -> float | None:
    t = text.strip()
    if t in ("inf", "+inf", "-inf"):
        return None
    try:
        v = float(t)
    except ValueError:
        raise ConfigError(f"line {line}: range bound {t!r} is not a number (use -inf / inf for no bound)") from None
    if not math.isfinite(v):
        raise ConfigError(f"line {line}: range bound {t!r} is not finite")
    return v


def _parse_type(text: str, line: int) -> dict[str, Any]:
    """Keyword arguments of :class:`ParameterSpec` from a TYPE (the part of the comment before ``:``)."""
    t = text.strip()
    out: dict[str, Any] = {}
    if t.endswith(" or None"):
        out["optional"] = True
        t = t[: -len(" or None")].strip()
    if t.startswith("choice of "):
        words = tuple(w.strip() for w in t[len("choice of "):].split(","))
        if not words or any(not _WORD.match(w) for w in words) or len(set(words)) != len(words):
            raise ConfigError(f"line {line}: 'choice of' needs distinct plain words separated by commas; got {t!r}")
        return {**out, "kind": "choice", "choices": words}
    m = re.match(r"^(\w+)(.*)$", t)
    kind, rest = (m[1], m[2]) if m else (t, "")
    if kind == "config" and not rest.strip():
        return {**out, "kind": "config"}
    if kind not in KINDS or kind == "choice":
        raise ConfigError(f"line {line}: unknown type {kind!r}; allowed: int, float, str, bool, "
                          "'choice of A, B', seeds, population, file, config (each optionally '... or None')")
    out["kind"] = kind
    rest = rest.strip()
    if kind == "float" and ", multiple of " in f", {rest}":
        rest, _, step = f", {rest}".rpartition(", multiple of ")
        rest = rest.lstrip(", ").strip()
        s = _bound(step, line)
        if s is None or s <= 0:
            raise ConfigError(f"line {line}: 'multiple of' needs a positive number; got {step.strip()!r}")
        out["multiple_of"] = s
    if not rest:
        return out
    if kind not in ("int", "float") or not rest.startswith("in "):
        raise ConfigError(f"line {line}: unexpected {rest!r} after {kind!r}; only int and float take "
                          "'in [LO, HI]' (and float ', multiple of STEP')")
    m = _RANGE.match(rest[3:].strip())
    if not m:
        raise ConfigError(f"line {line}: range must look like [LO, HI], (LO, HI], [LO, HI) or (LO, HI); got {rest!r}")
    lo, hi = _bound(m["lo"], line), _bound(m["hi"], line)
    if m["lo"].strip() in ("inf", "+inf") or m["hi"].strip() == "-inf":
        raise ConfigError(f"line {line}: range {rest[3:]!r} is empty")
    if lo is not None and hi is not None and hi < lo:
        raise ConfigError(f"line {line}: range {rest[3:]!r} is empty (HI < LO)")
    out.update(lo=lo, hi=hi, lo_open=m["lb"] == "(" and lo is not None, hi_open=m["hb"] == ")" and hi is not None)
    return out


def parse_parameter_line(text: str, line: int = 1) -> ParameterSpec:
    """One ``NAME = DEFAULT  # TYPE: help`` line -> :class:`ParameterSpec`; ConfigError if it breaks the convention."""
    s = text.strip()
    named = re.match(r"^([A-Za-z_]\w*)\s*=", s)
    try:
        return _parse_line(s, line)
    except ConfigError as e:
        msg = str(e)
        if named and msg.startswith(f"line {line}: "):
            msg = f"line {line} ({named[1]}): " + msg[len(f"line {line}: "):]
        raise ConfigError(msg) from None


def _comment_start(s: str) -> int | None:
    """Column of the line's real comment (Python's tokenizer), None if it has none."""
    import io
    import tokenize

    try:
        for tok in tokenize.generate_tokens(io.StringIO(s + "\n").readline):
            if tok.type == tokenize.COMMENT:
                return tok.start[1]
    except (tokenize.TokenError, SyntaxError):
        return None
    return None


def _parse_line(s: str, line: int) -> ParameterSpec:
    if s.count("=") != 1:
        raise ConfigError(f"line {line}: {s!r} must hold exactly one '=' (papermill ignores a line with two, even "
                          "inside the comment)")
    if "#" in s and _comment_start(s) not in (None, s.index("#")):
        raise ConfigError(f"line {line}: {s!r}: no '#' inside DEFAULT (papermill cuts the value at the first '#')")
    m = _LINE.match(s)
    if not m:
        if "#" not in s:
            raise ConfigError(f"line {line}: {s!r} has no '# TYPE: help' comment")
        raise ConfigError(f"line {line}: {s!r} is not NAME = DEFAULT  # TYPE: help")
    comment = m["comment"]
    type_text, colon, help_text = comment.partition(":")
    if not colon:
        raise ConfigError(f"line {line}: the comment {comment!r} must start with 'TYPE:' (e.g. 'float in [0, 1]: ...')")
    kw = _parse_type(type_text, line)
    help_text = help_text.strip()
    if kw["kind"] == "config":
        kw, help_text = _declared_type(m["name"], kw, help_text, line)
    try:
        default = ast.literal_eval(m["value"])
    except (ValueError, SyntaxError):
        raise ConfigError(f"line {line}: default {m['value']!r} of {m['name']} is not a Python literal") from None
    spec = ParameterSpec(name=m["name"], default=default, help=help_text, line=line, **kw)
    try:
        if not (spec.kind in ("population", "file") and isinstance(default, str)):   # existence is checked at run time
            spec.check(default)
        elif not default.strip():
            raise ConfigError(f"{spec.name} must be a non-empty path")
    except ConfigError as e:
        raise ConfigError(f"line {line}: the default does not satisfy its own type: {e}") from None
    return spec


def _declared_type(name: str, kw: dict[str, Any], help_text: str, line: int) -> tuple[dict[str, Any], str]:
    """A ``config`` TYPE: the keyword arguments and help of config field ``name``'s declaration."""
    p = PARAMS.get(name)
    if p is None or p.kind not in ("int", "float", "choice", "bool"):
        known = ", ".join(k for k, v in PARAMS.items() if v.kind in ("int", "float", "choice", "bool"))
        raise ConfigError(f"line {line}: type 'config' takes the declaration of the config field named {name!r}, "
                          f"and there is no such number, choice or bool field; allowed names: {known}")
    kw = {**kw, "kind": p.kind, "choices": p.choices, "lo": p.lo, "hi": p.hi,
          "lo_open": p.lo_open and p.lo is not None, "hi_open": p.hi_open and p.hi is not None}
    return kw, f"{p.help} {help_text}".strip()


def read_parameters(notebook: str | Path | Any) -> ChapterParameters:
    """Parse the cell tagged ``parameters`` of ``notebook`` (a path or an nbformat node).

    Never raises for a cell that breaks the convention: the offending lines are
    listed in :attr:`ChapterParameters.problems` (a notebook without such a
    cell gets one problem saying so).
    """
    import nbformat

    path = None
    if isinstance(notebook, (str, Path)):
        path = Path(notebook)
        if not path.is_file():
            raise ConfigError(f"notebook {str(path)!r} does not exist")
        nb = nbformat.read(str(path), as_version=4)
    else:
        nb = notebook
    cells = [c for c in nb.cells
             if c.get("cell_type") == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    out = ChapterParameters(path)
    if not cells:
        out.problems.append("no code cell is tagged 'parameters'")
        return out
    if len(cells) > 1:
        out.problems.append(f"{len(cells)} cells are tagged 'parameters'; one is allowed")
    out.source = cells[0].source if isinstance(cells[0].source, str) else "".join(cells[0].source)
    for i, raw in enumerate(out.source.splitlines(), 1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        try:
            spec = parse_parameter_line(s, i)
        except ConfigError as e:
            out.problems.append(str(e))
            continue
        if spec.name in out.specs:
            out.problems.append(f"line {i}: {spec.name} is declared twice (first on line {out.specs[spec.name].line})")
            continue
        out.specs[spec.name] = spec
    return out


def parse_cli_value(text: str) -> Any:
    """A ``-p`` value read as papermill reads it: True/False/None, int, float, else the text."""
    if text == "True":
        return True
    if text == "False":
        return False
    if text == "None":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _cli_value(spec: ParameterSpec | None, text: Any) -> Any:
    if not isinstance(text, str) or spec is None:
        return text
    if spec.kind in _TEXT_KINDS:
        return None if (text == "None" and spec.optional) else text
    return parse_cli_value(text)


def check_values(params: ChapterParameters, overrides: Mapping[str, Any], *, from_cli: bool = False,
                 base_dir: Path | None = None) -> dict[str, Any]:
    """Check ``overrides`` against the cell; return the cleaned overrides.

    Every effective value (the overrides and the defaults they leave) is
    checked, so a default that points at a missing folder fails too. All
    problems are collected into one :class:`~slowmem.config.ConfigError`
    that names each parameter and what it allows; unknown names come with the
    list of known ones (and the closest match).

    Args:
        from_cli: values are ``-p`` texts (see :func:`parse_cli_value`).
        base_dir: folder for relative paths (default: the notebook's).
    """
    params.require_convention()
    base = base_dir if base_dir is not None else (params.path.parent if params.path is not None else None)
    errors, clean = [], {}
    known = list(params.specs)
    for name in overrides:
        if name not in params.specs:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.5) or \
                [k for k in known if k.lower() == name.lower()]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            errors.append(f"unknown parameter {name!r}{hint}; allowed: {', '.join(known) or '(none)'}")
    for name, spec in params.specs.items():
        given = name in overrides
        value = _cli_value(spec, overrides[name]) if (given and from_cli) else overrides.get(name, spec.default)
        try:
            v = spec.check(value, base)
        except ConfigError as e:
            errors.append(f"{e}" + ("" if given else " (the notebook's default)"))
            continue
        if given:
            clean[name] = v
    if errors:
        where = params.path.stem if params.path is not None else "the notebook"
        raise ConfigError(f"chapter {where}: " + ("\n  ".join([""] + errors) if len(errors) > 1 else errors[0]))
    return clean


#: Names IPython and Jupyter put into a kernel's namespace before the first cell runs.
_KERNEL_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "open", "check_namespace"})


def check_namespace(namespace: Mapping[str, Any], chapter: str, book_dir: Path | None = None) -> None:
    """Inside a running chapter, right after its parameters: refuse unknown or bad parameters.

    A chapter run straight through papermill (``papermill book/01_task.ipynb out.ipynb -p G 1.4``)
    only gets a warning from papermill for an unknown name and would run on its defaults. The
    chapter's first code cell calls this with ``globals()``: at that point the namespace holds
    only the parameters cell's names and what papermill injected, so any other name is a
    mistyped parameter. Every parameter's current value is checked too, against the cell's
    convention. Raises :class:`~slowmem.config.ConfigError` naming what was wrong and what is
    allowed, before any work.
    """
    params = read_parameters(find_chapter(chapter, book_dir))
    names = {k for k in namespace if not k.startswith("_") and k not in _KERNEL_NAMES}
    unknown = sorted(names - set(params.specs))
    given = {k: namespace[k] for k in params.specs if k in namespace}
    given.update({k: namespace[k] for k in unknown})
    check_values(params, given)


def chapter_names(book_dir: Path | None = None) -> list[str]:
    """Stems of the notebooks in the book folder, sorted."""
    return sorted(p.stem for p in locate_book(book_dir).glob("*.ipynb"))


def find_chapter(name: str, book_dir: Path | None = None) -> Path:
    """``book/NAME.ipynb``; NAME may omit the number (``task`` finds ``01_task``) if that is unambiguous."""
    book = locate_book(book_dir)
    names = chapter_names(book)
    if not names:
        raise ConfigError(f"no chapter notebooks in {book} (use --book to point at the book folder)")
    stem = name.removesuffix(".ipynb")
    if stem in names:
        return book / f"{stem}.ipynb"
    hits = [n for n in names if n.split("_", 1)[-1] == stem or n.split("_", 1)[0] == stem]
    if len(hits) == 1:
        return book / f"{hits[0]}.ipynb"
    raise ConfigError(f"unknown chapter {name!r}; allowed: {', '.join(names)}")


def format_parameters(params: ChapterParameters) -> str:
    """A table of every parameter: name, type, default, help."""
    title = params.path.stem if params.path is not None else "notebook"
    if params.problems:
        return f"{title}: the parameters cell does not follow the convention:\n  " + "\n  ".join(params.problems)
    rows = [(s.name, s.describe(), repr(s.default), s.help) for s in params.specs.values()]
    if not rows:
        return f"{title}: no parameters"
    w = [max(len(r[i]) for r in rows + [("name", "type", "default", "")]) for i in range(3)]
    lines = [f"parameters of chapter {title} (set with -p NAME VALUE):",
             f"  {'name':<{w[0]}}  {'type':<{w[1]}}  {'default':<{w[2]}}  meaning"]
    lines += [f"  {a:<{w[0]}}  {b:<{w[1]}}  {c:<{w[2]}}  {d}" for a, b, c, d in rows]
    return "\n".join(lines)


def run_chapter(name: str, overrides: Mapping[str, Any] | None = None, out: str | Path | None = None, *,
                book_dir: Path | None = None, from_cli: bool = False, kernel_name: str | None = None,
                progress: bool = True) -> Path:
    """Check ``overrides``, then execute the chapter with papermill into ``out``; return ``out``.

    Args:
        name: a chapter (see :func:`find_chapter`).
        overrides: parameter values (``-p`` texts if ``from_cli``).
        out: the executed notebook (default ``NAME.out.ipynb`` in the current folder); must not be the chapter.
        book_dir: the book folder (default: the checkout's ``book/``, :func:`slowmem.book.locate_book`); the
            notebook runs there.
        kernel_name: Jupyter kernel (default: the notebook's).
    """
    nb = find_chapter(name, book_dir)
    params = read_parameters(nb)
    clean = check_values(params, dict(overrides or {}), from_cli=from_cli)
    target = Path(out) if out is not None else Path(f"{nb.stem}.out.ipynb")
    if target.resolve() == nb.resolve():
        raise ConfigError(f"--out {target} is the chapter itself; choose another file")
    if target.suffix != ".ipynb":
        raise ConfigError(f"--out must be a .ipynb file; got {str(target)!r}")
    if not target.parent.is_dir():
        raise ConfigError(f"--out: the folder {str(target.parent)!r} does not exist")
    import papermill

    try:
        papermill.execute_notebook(str(nb), str(target), parameters=clean, cwd=str(nb.parent),
                                   kernel_name=kernel_name, progress_bar=progress)
    except papermill.PapermillExecutionError as e:     # the chapter's own code stopped: say where and why
        raise SlowmemError(f"chapter {nb.stem} stopped in cell {e.exec_count}: {e.ename}: {e.evalue} (the "
                           f"executed notebook, with the full traceback, is {target})") from None
    return target


# --------------------------------------------------------------------------- #
# command line: slowmem chapter NAME [-p KEY VALUE]... (wired in slowmem.cli)
# --------------------------------------------------------------------------- #
