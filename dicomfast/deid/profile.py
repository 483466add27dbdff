"""The PS3.15 Attribute Confidentiality Profiles as rules: one action per attribute for a set of
options (Table E.1-1, generated into :mod:`dicomfast._generated.confidentiality_profile`).

:func:`rules_for` resolves the table once per set of options into a :class:`Rules` record: a dict of
plain tags and a tuple of masked rows (the repeating groups ``50xx`` and ``60xx``), each with the
one action that is applied. The choice rule for ``X/Z``, ``X/D``, ``Z/D``, ``X/Z/D`` and ``X/Z/U*``
is :func:`choose`.
"""
from __future__ import annotations

import functools
from typing import Iterable, NamedTuple

from .._generated.confidentiality_profile import OPTIONS, PRIVATE, PROFILE

__all__ = ["OPTIONS", "OPTION_CODES", "Rules", "rules_for", "choose", "check_options", "BASIC_PROFILE_CODE"]

#: The Basic Application Confidentiality Profile's code (CID 7050).
BASIC_PROFILE_CODE = ("113100", "Basic Application Confidentiality Profile")

#: Each option's code in CID 7050 (De-identification Method), scheme DCM.
OPTION_CODES = {
    "rtnSafePrivOpt": ("113111", "Retain Safe Private Option"),
    "rtnUIDsOpt": ("113110", "Retain UIDs Option"),
    "rtnDevIdOpt": ("113109", "Retain Device Identity Option"),
    "rtnInstIdOpt": ("113112", "Retain Institution Identity Option"),
    "rtnPatCharsOpt": ("113108", "Retain Patient Characteristics Option"),
    "rtnLongFullDatesOpt": ("113106", "Retain Longitudinal Temporal Information Full Dates Option"),
    "rtnLongModifDatesOpt": ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    "cleanDescOpt": ("113105", "Clean Descriptors Option"),
    "cleanStructContOpt": ("113104", "Clean Structured Content Option"),
    "cleanGraphOpt": ("113103", "Clean Graphics Option"),
}
assert set(OPTION_CODES) == set(OPTIONS)


class Rules(NamedTuple):
    """The profile resolved for one set of ``options``: ``exact`` {tag: action} for plain tags,
    ``masked`` ((value, mask, action), ...) for the repeating groups, ``private`` the action of
    private attributes (``X``, or ``C`` with Retain Safe Private)."""

    options: frozenset
    exact: dict
    masked: tuple
    private: str

    def action(self, tag: int) -> str | None:
        """The action for public ``tag``, or None when the table does not list it (kept)."""
        action = self.exact.get(tag)
        if action is None and (tag >> 24) in (0x50, 0x60):
            for value, mask, masked_action in self.masked:
                if tag & mask == value:
                    return masked_action
        return action


def choose(basic: str, std_comp_iod: bool) -> str:
    """The one action taken where the Basic Profile gives a choice.

    * ``X/Z/U*`` (Referenced Image Sequence, Source Image Sequence): ``U*``: the sequence is kept
      and the UIDs inside it replaced (the references stay valid and consistent).
    * Not in a standard composite IOD (``stdCompIOD`` N) and ``X`` allowed: ``X`` (removing it
      cannot make a standard object invalid).
    * Otherwise ``D`` where allowed, else ``Z``: the table gives no IOD type, and an attribute of a
      standard IOD may be Type 1 in one of them (only ``D`` keeps that valid) or Type 2 (``Z`` or
      ``D``); a dummy or an empty value carries nothing of the original. For a sequence, ``D`` is
      taken as ``Z`` (an empty sequence): a dummy item would not satisfy its macro.
    """
    if "/" not in basic:
        return basic
    choices = basic.split("/")
    if "U*" in choices:
        return "U*"
    if not std_comp_iod and "X" in choices:
        return "X"
    return "D" if "D" in choices else "Z"


def check_options(options: Iterable[str]) -> frozenset:
    """``options`` as a frozenset of the table's option names; a clear error for an unknown name or
    for both date options together."""
    if isinstance(options, str):
        options = (options,)
    chosen = frozenset(options)
    unknown = sorted(chosen - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown de-identification option(s) {', '.join(map(repr, unknown))}: "
                         f"the options are {', '.join(OPTIONS)}")
    if {"rtnLongFullDatesOpt", "rtnLongModifDatesOpt"} <= chosen:
        raise ValueError("rtnLongFullDatesOpt and rtnLongModifDatesOpt exclude each other: choose one")
    return chosen


def _resolve(basic: str, std: bool, actions: tuple, options: frozenset) -> str:
    """An option's action wins over the Basic Profile's; of several options, ``K`` (the caller
    asked to retain) wins over ``C``."""
    chosen = {action for name, action in zip(OPTIONS, actions) if action and name in options}
    if "K" in chosen:
        return "K"
    if "C" in chosen:
        return "C"
    return choose(basic, std)


@functools.lru_cache(maxsize=64)
def rules_for(options: frozenset) -> Rules:
    """The profile for ``options`` (a frozenset from :func:`check_options`), resolved once."""
    exact = {}
    masked = []
    for value, mask, _name, std, basic, actions in PROFILE:
        action = _resolve(basic, std, actions, options)
        if mask == 0xFFFFFFFF:
            exact[value] = action
        else:
            masked.append((value, mask, action))
    private_basic, private_actions = PRIVATE
    return Rules(options, exact, tuple(masked), _resolve(private_basic, False, private_actions, options))
