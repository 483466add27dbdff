"""De-identification by the DICOM PS3.15 Attribute Confidentiality Profiles (see docs/deid.md).

    report = dicomfast.deidentify(ds, key=secret, options=("rtnLongModifDatesOpt",))
    ds.save_as("out.dcm")

:func:`deidentify` edits a dataset in place through its public editing API; the table it follows
is PS3.15 Table E.1-1, generated into :mod:`dicomfast._generated.confidentiality_profile`.
"""
from .engine import (BURNED_IN_MODALITIES, SAFE_PRIVATE, Action, DeidentificationError, MappingEntry, PrivateTag,
                     Report, clear_caches, date_offset, deidentify, map_uid, pseudonym)
from .mask import MaskOutcome, PixelMask, Rectangle, apply_mask
from .profile import OPTION_CODES, OPTIONS, choose, rules_for

__all__ = ["deidentify", "Report", "Action", "MappingEntry", "PrivateTag", "SAFE_PRIVATE", "DeidentificationError",
           "BURNED_IN_MODALITIES", "OPTIONS", "OPTION_CODES", "choose", "rules_for", "map_uid", "pseudonym",
           "date_offset", "clear_caches", "PixelMask", "Rectangle", "MaskOutcome", "apply_mask"]
