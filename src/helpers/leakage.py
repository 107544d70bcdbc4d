"""Near-duplicates across splits: which held-out words differ from a training word by one letter.

A split by item (every name in one split only) can still let a test item be
almost a training item: *catherine* in training, *katherine* in test. Whether
that is leakage depends on the task: a model of surnames *should* have learned
that *johnson* makes *johnsen* likely, while a model that only memorised its
training names would score well on such near-copies and badly on the rest.
The chapters measure it instead of guessing: :func:`near_duplicates` finds,
for each held-out item, the training items one edit away (one letter
substituted, inserted or deleted: Levenshtein distance 1), and a score can
then be reported separately for the items that have such a neighbour and
for those that do not. :func:`one_edit_groups` answers whether a split could
keep all such neighbours apart: it chains them into groups, and for names
most of the list ends up in one.

Finding them is fast by the deletion trick (as in SymSpell): two words one
edit apart become the same word after deleting at most one letter from each,
so every reference word is indexed under itself and its one-letter deletions,
and each candidate found that way is confirmed by :func:`one_edit_apart`.
"""

from helpers.text import _check_texts
from helpers.validation import _describe

__all__ = ["one_edit_apart", "near_duplicates", "one_edit_groups"]


def one_edit_apart(a, b):
    """Whether strings ``a`` and ``b`` differ by exactly one substitution, insertion or deletion."""
    if not isinstance(a, str) or not isinstance(b, str):
        raise TypeError(f"a and b must be strings, got {_describe(a)} and {_describe(b)}")
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1 or a == b:
        return False
    start = 0
    while start < len(a) and a[start] == b[start]:
        start += 1
    if len(a) == len(b):  # one substitution: the rest after it must match
        return a[start + 1 :] == b[start + 1 :]
    return a[start:] == b[start + 1 :]  # b has one letter more, at ``start``


def _deletions(word):
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def near_duplicates(items, reference):
    """For each of ``items``, the strings of ``reference`` one edit away from it.

    Args:
        items: list of strings (for example the test names).
        reference: list of strings (for example the training names).

    Returns:
        dict ``{item: sorted list of reference strings one edit away}``, with
        an entry (possibly empty) for every item. An item that is itself in
        ``reference`` is not its own near-duplicate.
    """
    items = _check_texts("items", items)
    reference = _check_texts("reference", reference)
    index = {}
    for word in set(reference):
        for key in _deletions(word) | {word}:
            index.setdefault(key, set()).add(word)
    found = {}
    for item in items:
        candidates = set()
        for key in _deletions(item) | {item}:
            candidates |= index.get(key, set())
        found[item] = sorted(word for word in candidates if one_edit_apart(item, word))
    return found


def one_edit_groups(words):
    """The groups of ``words`` linked by chains of one-edit neighbours, largest first.

    Two words are in the same group when a path of words, each one edit from
    the next, joins them (the connected components of the one-edit graph). A
    split that kept every pair of neighbours apart would have to keep each
    group whole.

    Returns:
        list of sorted lists of words, the largest group first.
    """
    words = sorted(set(_check_texts("words", words)))
    parent = {word: word for word in words}

    def root(word):
        while parent[word] != word:
            parent[word] = parent[parent[word]]  # path halving
            word = parent[word]
        return word

    for word, others in near_duplicates(words, words).items():
        for other in others:
            parent[root(word)] = root(other)
    groups = {}
    for word in words:
        groups.setdefault(root(word), []).append(word)
    return sorted(groups.values(), key=lambda group: (-len(group), group[0]))
