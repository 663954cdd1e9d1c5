"""WordNet for METEOR's synonym matching, read by nltk from a local copy (never downloaded).

Found, in order: nltk's own `corpora/wordnet` (an nltk_data install), then the WordNet 3.0
database of Debian's `wordnet-base` package in /usr/share/wordnet (what `make setup` installs).
That database lacks the `lexnames` file nltk's reader opens, so the 45 lexicographer file names
of WordNet 3.0 ship with openft (`data/wordnet-lexnames`).
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

__all__ = ["SYSTEM_WORDNET", "WordNetMissing", "load_wordnet"]

SYSTEM_WORDNET = Path("/usr/share/wordnet")
LEXNAMES = Path(__file__).resolve().parent / "data" / "wordnet-lexnames"
_lock = threading.Lock()
_reader = None


class WordNetMissing(RuntimeError):
    """No local WordNet database was found."""


def _nltk_corpus() -> Path | None:
    import nltk

    try:
        return Path(str(nltk.data.find("corpora/wordnet")))
    except LookupError:
        return None


def _open(root: Path, lexnames: bool):
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader
    from nltk.data import FileSystemPathPointer

    for trusted in (str(root), str(LEXNAMES.parent)):  # nltk reads only below its data paths
        if trusted not in nltk.data.path:
            nltk.data.path.append(trusted)

    class Reader(WordNetCorpusReader):
        def open(self, file):
            if lexnames and file == "lexnames":
                return FileSystemPathPointer(str(LEXNAMES)).open(self.encoding(file))
            return super().open(file)

        def map_wn(self, version="wordnet"):
            return None  # this is WordNet 3.0 itself: no mapping (used by multilingual lookups only)

    with warnings.catch_warnings():  # "multilingual functions are not available": none are used
        warnings.simplefilter("ignore", UserWarning)
        return Reader(str(root), None)


def load_wordnet():
    """nltk's WordNet reader over the local database (loaded once per process)."""
    global _reader
    with _lock:
        if _reader is None:
            corpus = _nltk_corpus()
            if corpus is not None:
                _reader = _open(corpus, lexnames=False)
            elif (SYSTEM_WORDNET / "data.noun").is_file():
                _reader = _open(SYSTEM_WORDNET, lexnames=True)
            else:
                raise WordNetMissing(
                    "METEOR needs WordNet: install Debian's wordnet-base package (make setup does) "
                    "or nltk's wordnet corpus"
                )
        return _reader
