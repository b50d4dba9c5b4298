"""Query expansion with the Synonym table.

A query is split into units: the longest phrases (up to three words) found in a synonym group,
else single words. Each matched unit can be swapped for members of its group. Variants are
enumerated best first by the summed rank of the substitutes, and capped: "crimson ball" gives
"crimson ball", "red ball", "crimson circle", "red circle", … never the full product.
"""

from __future__ import annotations

import heapq
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q

from search.models import Synonym

MAX_TERMS = 8  # the query itself and its 7 best variants: each costs a text-tower pass and an index walk
MAX_ALTERNATIVES = 4  # per unit
MAX_PHRASE_WORDS = 3
WORD = re.compile(r"[\w'-]+", re.UNICODE)


@dataclass(frozen=True)
class Term:
    text: str
    substitutions: tuple[tuple[str, str], ...] = field(default=())  # (original, replacement)

    @property
    def is_original(self) -> bool:
        return not self.substitutions


# What tells a process that its synonym groups for some families are outdated: how many entries are in scope and
# when the latest changed. `{families}`: SQL for the families' ids (an int array).
SYNONYMS_VERSION_SQL = (f"SELECT count(*), max(updated_at) FROM {Synonym._meta.db_table} "
                        "WHERE family_id IS NULL OR family_id = ANY({families})")
_groups_cache: dict[tuple[int, ...], tuple[tuple, dict[str, list[str]]]] = {}
_groups_lock = threading.Lock()
_GROUPS_CACHE_SIZE = 256


def synonyms_version(*, family_ids: Iterable[int]) -> tuple:
    """The version of the synonyms in scope of these families (SYNONYMS_VERSION_SQL): what synonym_groups' `version`
    takes, read once by a caller that expands many queries of the same families."""
    with connection.cursor() as cursor:
        cursor.execute(SYNONYMS_VERSION_SQL.format(families="%s"), [sorted(set(family_ids))])
        return tuple(cursor.fetchone())


def synonym_groups(*, family_ids: Iterable[int], version: tuple | None = None) -> dict[str, list[str]]:
    """word/phrase → the other members of its group(s), most similar first (global and family entries).

    Built once per process and scope, and rebuilt when an entry in scope is added, edited or deleted:
    one aggregate query (count and latest change) tells, instead of reading and regrouping every entry
    on every search. `version`: that aggregate (SYNONYMS_VERSION_SQL) when the caller already read it, for these
    families or more of them (search_context reads it with the user's families, saving a round trip per search).
    Callers must not modify the result."""
    key = tuple(sorted(set(family_ids)))
    version = tuple(synonyms_version(family_ids=key) if version is None else version)
    with _groups_lock:
        cached = _groups_cache.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    groups: dict[str, list[str]] = {}
    scope = Q(family=None) | Q(family_id__in=key)
    for term, related in Synonym.objects.filter(scope).order_by("family_id", "term").values_list("term", "related"):
        members = [_norm(term)] + [_norm(r) for r in related if _norm(r)]
        for index, member in enumerate(members):
            # The head term is the best substitute for any related term; then the others in order.
            others = members[1:] if index == 0 else [members[0]] + [m for m in members[1:] if m != member]
            bucket = groups.setdefault(member, [])
            bucket.extend(o for o in others if o not in bucket)
    with _groups_lock:
        if len(_groups_cache) >= _GROUPS_CACHE_SIZE:
            _groups_cache.clear()
        _groups_cache[key] = (version, groups)
    return groups


def expand(query: str, *, family_ids: Iterable[int], enabled: bool = True,
           synonyms_version: tuple | None = None) -> list[Term]:
    query = " ".join(query.replace('"', " ").split())  # a phrase's quotes are for the words, nothing to see
    if not query:
        return []
    original = Term(query)
    if not enabled:
        return [original]
    groups = synonym_groups(family_ids=family_ids, version=synonyms_version)
    units = _units(query, groups)
    alternatives = [[unit] + groups.get(_norm(unit), [])[:MAX_ALTERNATIVES] for unit in units]
    if all(len(a) == 1 for a in alternatives):
        return [original]
    terms = [original]
    seen = {query.lower()}
    # Best-first over rank vectors: (0,0,…) is the query itself; each step bumps one unit's rank.
    start = (0,) * len(units)
    heap = [(0, start)]
    visited = {start}
    while heap and len(terms) < MAX_TERMS:
        _, ranks = heapq.heappop(heap)
        text = " ".join(alternatives[i][r] for i, r in enumerate(ranks))
        if text.lower() not in seen:
            seen.add(text.lower())
            terms.append(Term(text, tuple((units[i], alternatives[i][r]) for i, r in enumerate(ranks) if r)))
        for i in range(len(units)):
            if ranks[i] + 1 < len(alternatives[i]):
                nxt = ranks[:i] + (ranks[i] + 1,) + ranks[i + 1:]
                if nxt not in visited:
                    visited.add(nxt)
                    heapq.heappush(heap, (sum(nxt), nxt))
    return terms


MAX_SHOWN = 5  # swaps the search page names after "also searched as"; the rest are counted ("and 3 more")


@dataclass(frozen=True)
class Swap:
    replacement: str
    original: str  # "" when the replacement stands for the whole query ("dog" also searched as "puppy")


@dataclass(frozen=True)
class AlsoSearched:
    swaps: list[Swap]
    more: int  # distinct swaps not shown


def also_searched_as(terms: list[Term], *, limit: int = MAX_SHOWN) -> AlsoSearched:
    """What the search page says a query was also searched as. Each term past the first is the whole query with a
    unit or two swapped, so listing the terms repeats a long query once per variant, and a word typed twice
    ("beach beach", "Dog, dog") is swapped in two variants: name each swap once instead (normalised, best first,
    never a no-op), as the replacement alone when it replaced the whole query."""
    if not terms:
        return AlsoSearched([], 0)
    query = _norm(terms[0].text)
    swaps = dict.fromkeys(
        Swap(_norm(new), "" if _norm(old) == query else _norm(old))
        for term in terms[1:] for old, new in term.substitutions if _norm(new) not in (_norm(old), query))
    swaps = list(swaps)
    return AlsoSearched(swaps[:limit], max(0, len(swaps) - limit))


def _units(query: str, groups: dict[str, list[str]]) -> list[str]:
    """Greedy longest-match segmentation into known phrases and plain words (punctuation kept with words)."""
    words = query.split(" ")
    units, i = [], 0
    while i < len(words):
        for size in range(min(MAX_PHRASE_WORDS, len(words) - i), 0, -1):
            phrase = " ".join(words[i:i + size])
            if _norm(phrase) in groups:
                units.append(phrase if size > 1 else words[i])
                i += size
                break
        else:
            units.append(words[i])
            i += 1
    return units


def _norm(text: str) -> str:
    return " ".join(WORD.findall(text.lower()))
