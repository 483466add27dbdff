"""``deidentify(ds, key=...)``: the PS3.15 Basic Application Level Confidentiality Profile and its
options, applied to a dataset in place through its public editing API (see docs/deid.md).

One walk over the dataset, its items at every depth and its File Meta Information: each element's
action comes from :mod:`.profile` (the generated Table E.1-1 resolved for the options), each
private element is kept only when the caller or the safe list names it. Replacement values are
functions of the caller's ``key`` and the original values only (HMAC-SHA256), so the same input
gives the same output in every process and on every machine.
"""
from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import itertools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, NamedTuple

from .. import datadict
from ..core.encode import clear_encoded
from ..dataset import Dataset
from ..errors import DeidentificationError
from ..uid import uid_from_digest, uid_type
from .profile import BASIC_PROFILE_CODE, OPTION_CODES, Rules, check_options, rules_for

if TYPE_CHECKING:
    import os

    from .mask import MaskOutcome, PixelMask

__all__ = ["deidentify", "Report", "Action", "MappingEntry", "PrivateTag", "SAFE_PRIVATE", "DeidentificationError",
           "BURNED_IN_MODALITIES", "pseudonym", "map_uid", "date_offset", "clear_caches"]

#: Modalities whose images often carry burned-in text: a file of one of them without Burned In
#: Annotation is reported at risk ("unknown").
BURNED_IN_MODALITIES = frozenset(("US", "XA", "RF", "ES", "SC", "OT", "XC", "GM", "SM", "DOC", "IO", "PX", "DX", "CR",
                                  "MG", "OP", "IVUS", "ECG"))
_SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"

_TEXT_VRS = frozenset(("AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT"))
#: The VRs of kept elements the walk still acts on: sequences (items walked), and with
#: rtnLongModifDatesOpt dates (shifted). (Text is looked at too inside a sequence being cleaned.)
_LOOKED_AT = frozenset(("SQ",))
_LOOKED_AT_SHIFTED = frozenset(("SQ", "DA", "DT"))
_BINARY_VRS = frozenset(("OB", "OD", "OF", "OL", "OV", "OW", "UN"))
_NUMBER_VRS = frozenset(("US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "AT"))
#: Dummy values (action D) by VR; Patient's Name and Patient ID get a pseudonym instead.
_DUMMY = {"AE": "ANONYMIZED", "AS": "000Y", "CS": "ANONYMIZED", "DA": "19000101", "DT": "19000101000000",
          "DS": "0", "IS": "0", "LO": "ANONYMIZED", "LT": "ANONYMIZED", "PN": "ANONYMIZED", "SH": "ANONYMIZED",
          "ST": "ANONYMIZED", "TM": "000000", "UC": "ANONYMIZED", "UR": "urn:x-dicomfast:anonymized",
          "UT": "ANONYMIZED"}
_PATIENT_NAME = 0x00100010
_PATIENT_ID = 0x00100020
_OVERLAY_DATA = 0x60003000
_MEDIA_SOP_INSTANCE = 0x00020003
_CODE_VALUE, _CODING_SCHEME, _CODE_MEANING = 0x00080100, 0x00080102, 0x00080104
#: Inside a dummy sequence (action D on a sequence), the values the table does not list that are
#: replaced by their VR's dummy: text, names, dates and times (code strings, numbers and UIDs not
#: listed stay: enumerated values, measurements, registry UIDs).
_DUMMIED_VRS = frozenset(("AE", "AS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UR", "UT"))
#: ... except the attributes of a coded concept (Code Sequence Macro, PS3.3 Table 8.8-1): they come
#: from vocabularies (DCM, SCT, LOINC...) and keep the concept names of a structured document.
_CODE_TAGS = frozenset((0x00080100, 0x00080102, 0x00080103, 0x00080104, 0x00080106, 0x00080107, 0x00080119,
                        0x00080120, 0x00080122))
_CODE_VRS = tuple(datadict.entry(tag)[0] for tag in (_CODE_VALUE, _CODING_SCHEME, _CODE_MEANING))  # SH, SH, LO
#: Defects of a tolerant read after which a written file would be incomplete: refused.
_REFUSED_DEFECTS = frozenset(("value_truncated", "deflate_truncated", "missing_delimiter"))
_META_REMOVED = frozenset((0x00020016, 0x00020017, 0x00020018, 0x00020100, 0x00020102))


class PrivateTag(NamedTuple):
    """A private element by its creator: (gggg,bbee) in the block that ``creator`` reserved in
    ``group``, ``offset`` being ee."""

    creator: str
    group: int
    offset: int


#: The private elements kept by Retain Safe Private (rtnSafePrivOpt): acquisition parameters that
#: describe the scan, not the patient (diffusion b-values and directions, mosaic layout, GE's
#: rescale of diffusion data). Everything else private is removed, including private sequences.
SAFE_PRIVATE = frozenset((
    PrivateTag("SIEMENS MR HEADER", 0x0019, 0x0A),   # NumberOfImagesInMosaic
    PrivateTag("SIEMENS MR HEADER", 0x0019, 0x0C),   # B_value
    PrivateTag("SIEMENS MR HEADER", 0x0019, 0x0D),   # DiffusionDirectionality
    PrivateTag("SIEMENS MR HEADER", 0x0019, 0x0E),   # DiffusionGradientDirection
    PrivateTag("SIEMENS MR HEADER", 0x0019, 0x27),   # B_matrix
    PrivateTag("GEMS_ACQU_01", 0x0019, 0xBB),        # diffusion gradient direction x
    PrivateTag("GEMS_ACQU_01", 0x0019, 0xBC),        # y
    PrivateTag("GEMS_ACQU_01", 0x0019, 0xBD),        # z
    PrivateTag("GEMS_PARM_01", 0x0043, 0x39),        # slop_int_6..9 (b-value)
    PrivateTag("Philips MR Imaging DD 001", 0x2001, 0x03),  # diffusion b-factor
))


class Action(NamedTuple):
    """One action taken: ``path`` of the item the element is in (``""`` at the top level,
    ``"(0008,1140)[0]"`` in the first item of a sequence), ``tag``, and ``action``: ``X`` removed,
    ``Z`` emptied, ``D`` dummy or pseudonym, ``U`` UID replaced, ``C`` cleaned (text) or shifted
    (dates), ``K`` a private element kept, ``A`` added by the profile (Patient Identity Removed...)."""

    path: str
    tag: int
    action: str


#: An Action made in C from a (path, tag, action) tuple: what Action(path, tag, action) gives, without
#: its Python-level __new__ (which costs more than the rest of the walk of a private element).
_action = functools.partial(tuple.__new__, Action)


class MappingEntry(NamedTuple):
    """An original identifier and its replacement: ``kind`` is ``uid``, ``patient_id`` or
    ``patient_name``. Identifying: keep it apart from the de-identified data."""

    kind: str
    old: str
    new: str


@dataclass(frozen=True)
class Report:
    """What :func:`deidentify` did to one dataset.

    ``actions``: every element removed, emptied, replaced, cleaned or shifted, and every private
    element kept, as :class:`Action` records. ``burned_in``: ``"yes"`` (Burned In Annotation YES),
    ``"unknown"`` (absent, in a modality that often burns text in: :data:`BURNED_IN_MODALITIES`, or a
    Secondary Capture) or ``"no"`` (also after a mask the caller said covers all annotation).
    ``options``: the options applied. ``mapping``: the old -> new identifiers (only with
    ``mapping=True``: it is identifying). ``mask``: what the caller's mask did
    (:class:`~dicomfast.deid.mask.MaskOutcome`), None without a mask.
    """

    actions: tuple
    burned_in: str
    options: tuple
    mapping: tuple = field(default=())
    mask: MaskOutcome | None = None

    def counts(self) -> dict:
        """{action: how many elements}."""
        out: dict = {}
        for action in self.actions:
            out[action.action] = out.get(action.action, 0) + 1
        return out


def _digest(key: bytes, label: bytes, value: str) -> bytes:
    return hmac.new(key, label + b"\0" + value.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()


def map_uid(key: bytes, uid: str) -> str:
    """The replacement of ``uid``: ``2.25.`` + a name-based UUID of HMAC-SHA256(key, uid)."""
    return uid_from_digest(_digest(key, b"dicomfast-deid-uid", uid))


def pseudonym(key: bytes, patient: str) -> str:
    """The keyed pseudonym of a patient (by original Patient ID): ``DF`` + 16 hex digits."""
    return "DF" + _digest(key, b"dicomfast-deid-patient", patient).hex()[:16].upper()


def date_offset(key: bytes, patient: str) -> int:
    """The keyed shift of a patient's dates, in whole days: -1 to -3652 (up to ten years back)."""
    return -1 - int.from_bytes(_digest(key, b"dicomfast-deid-date-offset", patient)[:8], "big") % 3652


# Within a run the same identifiers come again and again (a series' Study, Series and Frame of
# Reference UIDs, its patient): their HMACs are remembered, per key, in bounded LRUs. The results
# are the functions' own (they depend on the key and the value only). They hold original
# identifiers and the key: clear_caches() forgets them.
_cached_uid = functools.lru_cache(maxsize=4096)(map_uid)
_cached_pseudonym = functools.lru_cache(maxsize=256)(pseudonym)
_cached_date_offset = functools.lru_cache(maxsize=256)(date_offset)


def clear_caches() -> None:
    """Forget what de-identification remembers between calls in this process: the last 4096
    original UIDs and 256 patients with their replacements and the keys they were made with (an
    HMAC costs more than the rest of an edit), and the encoded bytes of the last 4096 small values
    set by any edit (:func:`dicomfast.core.encode.encode_value_cached`). Call it when a
    long-lived process should keep no original identifier or key in memory after a job."""
    _cached_uid.cache_clear()
    _cached_pseudonym.cache_clear()
    _cached_date_offset.cache_clear()
    clear_encoded()


class _Job:
    """The state of one deidentify call."""

    def __init__(self, ds: Dataset, key: bytes, rules: Rules, keep_private: frozenset, want_mapping: bool):
        self.key = key
        self.rules = rules  # the top level's: choices by the IOD's types
        self.item_rules = rules_for(rules.options)  # items of sequences: the IOD-independent choices
        self.options = rules.options
        self.keep_private = keep_private
        self.safe = "rtnSafePrivOpt" in rules.options
        self.shift_dates = "rtnLongModifDatesOpt" in rules.options
        self.actions: list[Action] = []  # made in C by _action (an Action() call costs more)
        self.pending: list[tuple] = []  # (dataset, tag, VR, value): the edits not set yet (flush)
        self.mapping: dict[tuple[str, str], str] | None = {} if want_mapping else None
        self.overlay_removed = rules.action(_OVERLAY_DATA) == "X" or rules.action(_OVERLAY_DATA) == "C"
        patient_id = _text(ds.get("PatientID"))
        name = _text(ds.get("PatientName"))
        self.patient = patient_id or name  # the key of the pseudonym and date offset
        self.pseudonym = _cached_pseudonym(key, self.patient)
        self.offset = datetime.timedelta(days=_cached_date_offset(key, self.patient))
        # the words to clean are the original values: gathered before the walk, when any can be cleaned
        self.cleaner = _cleaner(ds) if _cleans(rules.options) else _unchanged

    def set(self, ds: Dataset, tag: int, vr: str, value: Any) -> None:
        """``ds.add_new(tag, vr, value)``, deferred to :meth:`flush` so that the edits of each dataset
        are set together (:meth:`Dataset.set_values`: its character set looked up once)."""
        self.pending.append((ds, tag, vr, value))

    def flush(self) -> None:
        """Set the deferred edits, in the order they were made, each dataset's run in one call."""
        pending, self.pending = self.pending, []
        start = 0
        for k in range(1, len(pending) + 1):
            if k == len(pending) or pending[k][0] is not pending[start][0]:
                pending[start][0].set_values([entry[1:] for entry in pending[start:k]])
                start = k

    def record(self, path: str, tag: int, action: str) -> None:
        self.actions.append(_action((path, int(tag), action)))

    def note(self, kind: str, old: str, new: str) -> None:
        if self.mapping is not None and old:
            self.mapping[(kind, old)] = new

    # -- values ---------------------------------------------------------------------------------

    def uid(self, value: Any) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            value = bytes(value).decode("ascii", "replace").strip("\0 ")
            value = value.split("\\") if "\\" in value else value
        if isinstance(value, list):
            return [self.uid(v) for v in value]
        if not value:
            return value
        value = str(value).strip("\0 ")
        if uid_type(value):  # a well-known UID of the registry (a SOP Class, a coding scheme...)
            return value
        new = _cached_uid(self.key, value)
        self.note("uid", value, new)
        return new

    def dummy(self, tag: int, vr: str, element: Any) -> Any:
        if tag == _PATIENT_ID or tag == _PATIENT_NAME:
            original = _text(element.value)
            self.note("patient_id" if tag == _PATIENT_ID else "patient_name", original, self.pseudonym)
            return self.pseudonym
        if vr == "UI":
            return self.uid(element.value)
        if vr in _NUMBER_VRS:
            return 0
        if vr in _BINARY_VRS:
            return bytes(element.length + (element.length & 1))
        try:
            return _DUMMY[vr]
        except KeyError:
            raise DeidentificationError(f"no dummy value for VR {vr} of {_tag_text(tag)}") from None

    def shifted(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.shifted(v) for v in value]
        if not isinstance(value, str) or not value:
            return value
        return _shift_dates_in(value, self.offset)

    # -- the walk -------------------------------------------------------------------------------

    def walk(self, ds: Dataset, path: str, clean: bool, dummy: bool = False) -> None:
        """Apply the profile to the elements of ``ds`` and, recursively, of its items. ``clean``:
        inside a sequence being cleaned (Clean Structured Content, Clean Graphics), kept text is
        cleaned too. ``dummy``: inside a sequence whose action is D, the values the table does not
        list are made dummies too (:data:`_DUMMIED_VRS`, coded concepts excepted). The elements
        removed are deleted together at the end (one edit)."""
        action_of = (self.item_rules if path else self.rules).action
        overlay_removed = self.overlay_removed
        # kept elements that still need a look: sequences (their items are walked), dates when
        # they are shifted, text when it is cleaned
        looked_at = _LOOKED_AT_SHIFTED if self.shift_dates else _LOOKED_AT
        doomed: list[int] = []
        tags = ds.tag_list()  # plain ints, in tag order; an element is made only when needed
        private = [tag for tag in tags if tag & 0x10000]
        public = [tag for tag in tags if not tag & 0x10000] if private else tags
        for tag, action in zip(public, map(action_of, public)):
            if overlay_removed and 0x6000 <= tag >> 16 <= 0x601E:
                # without its Overlay Data an overlay plane is incomplete: the whole group goes
                doomed.append(tag)
                self.actions.append(_action((path, tag, "X")))
                continue
            if action is None or action == "K":
                element = ds[tag]
                vr = element.VR
                if dummy and action is None and vr in _DUMMIED_VRS and tag not in _CODE_TAGS:
                    value = element.value
                    if value is not None and value != "" and value != []:  # an empty one stays empty
                        self.set(ds, tag, vr, self.dummy(tag, vr, element))
                        self.actions.append(_action((path, tag, "D")))
                elif vr in looked_at or (clean and vr in _TEXT_VRS):
                    self.apply(ds, element, "K", path, clean, doomed, tag, dummy)
                continue
            self.apply(ds, ds[tag], action, path, clean, doomed, tag, dummy)
        if private:
            self.private(ds, private, path, clean, doomed)
        if doomed:
            ds.delete_tags(doomed)

    def apply(self, ds: Dataset, element: Any, action: str, path: str, clean: bool, doomed: list, tag: int,
              dummy: bool = False) -> None:
        """Apply ``action`` to ``element``, whose tag (a plain int: ``element.tag`` makes a ``Tag``) is ``tag``.

        D on a sequence keeps its items, each made a dummy (PS3.15 E.1: D is "a non-zero length
        value", and an empty sequence leaves a Type 1 or 1C sequence invalid, such as an SR's Content
        Sequence or Verifying Observer Sequence): the profile applied to the attributes it lists, and
        every other text, name, date and time replaced by its VR's dummy, at every depth; coded
        concepts, code strings, numbers and registry UIDs stay, so the structure stays valid."""
        vr = element.VR
        if action == "Z" and (tag == _PATIENT_NAME or tag == _PATIENT_ID):
            # Z allows "a non-zero length value that may be a dummy" (PS3.15 E.1): the patient's
            # pseudonym (Patient ID is Z/D, Type 2: Z by its type), so that patients stay apart
            action = "D"
        if action == "X":
            doomed.append(tag)
        elif action == "Z":
            self.set(ds, tag, vr, [] if vr == "SQ" else None)
        elif action == "D":
            if vr == "SQ":
                self.items(element, path, clean, True)
            else:
                self.set(ds, tag, vr, self.dummy(tag, vr, element))
        elif action == "U":
            if vr == "SQ":
                self.items(element, path, clean, dummy)
                return
            new = self.uid(element.value)
            self.set(ds, tag, "UI", new)
        elif action == "C":
            action = self.clean(ds, element, path, doomed)
            if action is None:
                return
        else:  # K, U*: kept; its items are walked, its dates shifted with Modified Dates
            if vr == "SQ":
                self.items(element, path, clean, dummy)
            elif vr in ("DA", "DT") and self.shift_dates:
                self.shift(ds, element, path)
            elif clean and vr in _TEXT_VRS:
                self.clean_text(ds, element, path)
            return
        self.actions.append(_action((path, tag, action)))

    def items(self, element: Any, path: str, clean: bool, dummy: bool = False) -> None:
        prefix = f"{path}{_tag_text(element.tag)}"
        for k, item in enumerate(element.value):
            self.walk(item, f"{prefix}[{k}]", clean, dummy)

    def shift(self, ds: Dataset, element: Any, path: str) -> None:
        new = self.shifted(element.value)
        if new != element.value:
            self.set(ds, element.tag, element.VR, new)
        self.record(path, element.tag, "C")

    def clean(self, ds: Dataset, element: Any, path: str, doomed: list) -> str | None:
        """Action C by VR: dates shifted, text cleaned, sequences walked with their text cleaned,
        UIDs replaced; graphics and other binary values cannot be cleaned and are removed; numbers
        are kept. Returns the action to record (None: recorded already or nothing done)."""
        vr = element.VR
        if vr == "SQ":
            self.items(element, path, True)
            return None
        if vr in ("DA", "DT", "TM"):
            if vr != "TM":  # the offset is whole days: a time is unchanged
                self.shift(ds, element, path)
            return None
        if vr in _TEXT_VRS or vr in ("UR",):
            self.clean_text(ds, element, path)
            return None
        if vr == "UI":
            self.set(ds, element.tag, "UI", self.uid(element.value))
            return "U"
        if vr in _BINARY_VRS:
            doomed.append(element.tag)
            return "X"
        return None

    def clean_text(self, ds: Dataset, element: Any, path: str) -> None:
        value = element.value
        new = self.cleaner(value)
        if new != value:
            self.set(ds, element.tag, element.VR, new)
            self.record(path, element.tag, "C")

    def private(self, ds: Dataset, private: list, path: str, clean: bool, doomed: list) -> None:
        """Private elements (their tags, ascending): removed unless their creator and offset are in
        the keep-list (or the safe list, with Retain Safe Private); a creator goes with the last
        element of its block."""
        keep = self.keep_private | SAFE_PRIVATE if self.safe else self.keep_private
        actions = self.actions
        if not keep:  # nothing private can stay: the elements, then the creators (as below)
            tags = [tag for tag in private if tag & 0xFFFF >= 0x1000]
            tags += [tag for tag in private if tag & 0xFFFF < 0x1000]
            doomed.extend(tags)
            actions.extend(map(_action, zip(itertools.repeat(path), tags, itertools.repeat("X"))))
            return
        elements = [(tag, ds[tag]) for tag in private]
        creators = {(tag >> 16, tag & 0xFFFF): _text(element.value) for tag, element in elements
                    if 0x0010 <= tag & 0xFFFF <= 0x00FF}
        kept_blocks = set()
        for tag, element in elements:
            group, elem = tag >> 16, tag & 0xFFFF
            if elem < 0x1000:
                continue  # group lengths and creators: below
            creator = creators.get((group, elem >> 8))
            if creator is not None and PrivateTag(creator, group, elem & 0xFF) in keep:
                kept_blocks.add((group, elem >> 8))
                actions.append(_action((path, tag, "K")))
                if element.VR == "SQ":
                    self.items(element, path, clean)
            else:
                doomed.append(tag)
                actions.append(_action((path, tag, "X")))
        for tag, _ in elements:
            if tag & 0xFFFF < 0x1000 and (tag >> 16, tag & 0xFFFF) not in kept_blocks:
                doomed.append(tag)
                actions.append(_action((path, tag, "X")))

    def meta(self, meta: Dataset) -> None:
        """The File Meta Information: the Media Storage SOP Instance UID follows the SOP Instance
        UID; the AE titles and private information are removed."""
        for element in list(meta):
            tag = element.tag
            if tag == _MEDIA_SOP_INSTANCE:
                if self.rules.action(0x00080018) == "U":
                    meta.add_new(tag, "UI", self.uid(element.value))
                    self.record("file_meta", tag, "U")
            elif tag in _META_REMOVED:
                action = self.rules.action(tag)
                if action in ("K", "C"):
                    continue
                del meta[tag]
                self.record("file_meta", tag, "X")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


# The date of a DA, or of a DT (then followed by its time, fraction and offset), at the start of a value
# or after the "-" of a range; a DT's UTC offset ("-0500") has four digits and is never taken.
_DATE_RUN = re.compile(r"(?:^|(?<=-))(\d{4})(\d{2})(\d{2})")
_PARTIAL = re.compile(r"\d{4}(?:\d{2})?")


def _shift_dates_in(text: str, offset: datetime.timedelta) -> str:
    """``text`` (a DA or DT value, or a range of them) with every date moved by ``offset``; a
    partial date (YYYY or YYYYMM, which DT allows) moves by the offset's whole years."""
    if _PARTIAL.fullmatch(text):
        year = int(text[:4]) + round(offset.days / 365.25)
        return f"{max(year, 1):04d}{text[4:]}"

    def one(m: re.Match) -> str:
        try:
            day = datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return m.group(0)  # not a calendar date: kept for the writer's check to report
        moved = day + offset
        return f"{moved.year:04d}{moved.month:02d}{moved.day:02d}"

    return _DATE_RUN.sub(one, text)


_WORD = "A-Za-z0-9\u00c0-\uffff"


@functools.lru_cache(maxsize=64)
def _cleans(options: frozenset) -> bool:
    """Whether the profile for ``options`` cleans anything (action C): the Basic Profile alone does not."""
    rules = rules_for(options)
    return "C" in rules.exact.values() or any(action == "C" for _, _, action in rules.masked)


def _unchanged(value: Any) -> Any:
    return value


def _cleaner(ds: Dataset):
    """A function that removes the patient's names and identifiers from a text (str or list of str),
    as whole words, case-insensitively."""
    words: set[str] = set()
    for keyword in ("PatientName", "PatientBirthName", "PatientMotherBirthName", "OtherPatientNames",
                    "ResponsiblePerson"):
        for part in re.split(r"[\^=\\ ,]+", _text(ds.get(keyword))):
            if len(part) >= 2:
                words.add(part)
    for keyword in ("PatientID", "OtherPatientIDs", "AccessionNumber", "MedicalRecordLocator",
                    "PatientBirthDate"):
        for part in _text(ds.get(keyword)).split("\\"):
            if len(part.strip()) >= 2:
                words.add(part.strip())
    for item in ds.get("OtherPatientIDsSequence") or ():
        value = _text(item.get("PatientID"))
        if len(value) >= 2:
            words.add(value)
    if not words:
        return _unchanged
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))
    pattern = re.compile(f"(?<![{_WORD}])(?:{alternatives})(?![{_WORD}])", re.IGNORECASE)

    def clean(value: Any) -> Any:
        if isinstance(value, list):
            return [clean(v) for v in value]
        if not isinstance(value, str):
            return value
        new = pattern.sub("", value)
        if new == value:
            return value
        return re.sub(r"[ \^]{2,}", " ", new).strip(" ^")

    return clean


def _burned_in(ds: Dataset) -> str:
    if 0x7FE00010 not in ds:
        return "no"
    value = _text(ds.get("BurnedInAnnotation")).upper()
    if value == "YES":
        return "yes"
    if value == "NO":
        return "no"
    modality = _text(ds.get("Modality")).upper()
    sop_class = _text(ds.get("SOPClassUID"))
    if modality in BURNED_IN_MODALITIES or sop_class.startswith(_SECONDARY_CAPTURE):
        return "unknown"
    return "no"


def _keep_list(keep_private: Iterable[Any]) -> frozenset:
    out = set()
    for entry in keep_private:
        try:
            creator, group, offset = entry
        except (TypeError, ValueError):
            raise TypeError(f"keep_private holds (creator, group, offset) triples, not {entry!r}") from None
        if not (isinstance(creator, str) and isinstance(group, int) and group & 1 and isinstance(offset, int)
                and 0 <= offset <= 0xFF):
            raise ValueError(f"keep_private entry {entry!r}: a creator string, an odd group and an offset 0x00-0xFF")
        out.add(PrivateTag(creator, group, offset))
    return frozenset(out)


def deidentify(ds: Dataset, *, key: bytes, options: Iterable[str] = (), keep_private: Iterable[Any] = (),
               mapping: bool = False, mask: PixelMask | Mapping | str | os.PathLike | None = None,
               mask_covers_annotation: bool = False,
               mask_transfer_syntax: str | None = None) -> Report:
    """De-identify ``ds`` **in place** by the PS3.15 Basic Application Level Confidentiality
    Profile and the ``options`` named (the table's columns: ``rtnSafePrivOpt``, ``rtnUIDsOpt``,
    ``rtnDevIdOpt``, ``rtnInstIdOpt``, ``rtnPatCharsOpt``, ``rtnLongFullDatesOpt``,
    ``rtnLongModifDatesOpt``, ``cleanDescOpt``, ``cleanStructContOpt``, ``cleanGraphOpt``), and
    return a :class:`Report`. Copy first (``copy.deepcopy(ds)``) to keep the original.

    ``key`` (bytes, at least 16) is the secret of every replacement: UIDs (HMAC-SHA256 -> ``2.25``
    UIDs), the patient's pseudonym and the date offset are functions of it and the original values
    only, so files de-identified with the same key stay consistent across runs and machines.
    ``keep_private``: (creator, group, offset) of private elements to keep. ``mapping``: put the
    old -> new identifiers in the report (identifying).

    Pixel data is changed only by a ``mask`` (a :class:`~dicomfast.deid.mask.PixelMask`, its
    mapping ``{"US": {"640x480": [[x, y, w, h], ...]}}`` or a JSON file's path): the rectangles it
    lists for the dataset's Modality and Columns x Rows are blanked (:func:`~dicomfast.deid.mask.apply_mask`;
    ``mask_transfer_syntax``: where lossy or unencodable pixel data may be stored after masking);
    ``report.mask`` says what was done. ``mask_covers_annotation``: the caller vouches that the
    rectangles cover all burned-in annotation: a masked dataset then gets Burned In Annotation NO
    and the Clean Pixel Data Option's code.
    """
    if not isinstance(key, (bytes, bytearray)) or len(key) < 16:
        raise ValueError("key must be bytes, at least 16 of them (a secret: keep it apart from the data)")
    if not isinstance(ds, Dataset):
        raise TypeError(f"deidentify takes a dicomfast Dataset, not {type(ds).__name__}")
    rules = rules_for(check_options(options), _text(ds.get("SOPClassUID")))
    damaged = [d for d in ds.defects if d.kind in _REFUSED_DEFECTS]
    if damaged:
        raise DeidentificationError(f"the input is damaged ({damaged[0]}): its output would be invalid")
    masked = None
    if mask is not None:  # before any edit of the header: a mask that cannot be applied fails cleanly
        from .mask import apply_mask, as_mask, mark_clean

        masked = apply_mask(ds, as_mask(mask), transfer_syntax=mask_transfer_syntax)
    job = _Job(ds, bytes(key), rules, _keep_list(keep_private), mapping)
    burned_in = _burned_in(ds)
    try:
        job.walk(ds, "", False)
    except Exception:
        # the edits made before the failure are set, as they would have been one by one; one of
        # them that is invalid fails first, as it would have (it came first)
        try:
            job.flush()
        except Exception as invalid:
            raise invalid from None
        raise
    job.flush()
    if ds.file_meta is not None:
        job.meta(ds.file_meta)
    _mark(ds, rules.options, job)
    if masked is not None and masked.status == "masked" and mask_covers_annotation:
        for tag in mark_clean(ds, True):
            job.record("", tag, "A")
        burned_in = "no"
    actions = tuple(job.actions)  # Action records already (_action)
    return Report(actions, burned_in, tuple(sorted(rules.options)),
                  tuple(MappingEntry(kind, old, new) for (kind, old), new in sorted(job.mapping.items()))
                  if job.mapping is not None else (), masked)


def _mark(ds: Dataset, options: frozenset, job: _Job) -> None:
    """Patient Identity Removed, De-identification Method (and its Code Sequence, CID 7050) and
    Longitudinal Temporal Information Modified."""
    codes = [BASIC_PROFILE_CODE] + sorted(OPTION_CODES[o] for o in options)
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = ["DICOMFAST PS3.15 BASIC PROFILE"] + [meaning.upper()[:64] for _, meaning in codes[1:]]
    items = []
    for value, meaning in codes:
        item = Dataset()
        # what item.CodeValue = ..., item.CodingSchemeDesignator = ..., item.CodeMeaning = ... set
        # (a new item: the dictionary's VRs), in one call
        item.set_values(((_CODE_VALUE, _CODE_VRS[0], value), (_CODING_SCHEME, _CODE_VRS[1], "DCM"),
                         (_CODE_MEANING, _CODE_VRS[2], meaning)))
        items.append(item)
    ds.DeidentificationMethodCodeSequence = items
    if "rtnLongModifDatesOpt" in options:
        ds.LongitudinalTemporalInformationModified = "MODIFIED"
    elif "rtnLongFullDatesOpt" in options:
        ds.LongitudinalTemporalInformationModified = "UNMODIFIED"
    else:
        ds.LongitudinalTemporalInformationModified = "REMOVED"
    for tag in (0x00120062, 0x00120063, 0x00120064, 0x00280303):
        job.record("", tag, "A")
