"""Tables generated from the standard by tools/gen_dictionary.py (dictionary.py, uids.py,
private_dictionary.py), and their loaders (this module, hand-written).

The generated modules hold their rows as a text table, parsed once at import with C-level iteration
only (replace, split, slices, map, zip). With no cached .pyc that imports several times faster than
a dict literal of tuples (whose compilation dominates), and nearly as fast when one is cached. The
cyclic GC is paused meanwhile: nothing built here can form a cycle, and the ~10,000 new tuples
would otherwise trigger collections for nothing.
"""

import gc

__all__ = ["load_rows", "load_private_rows"]


def load_rows(table: str, hex_keys: bool, shared: tuple) -> dict:
    """``{cell 0: (cells 1, 2, 3, 5 as a bool, 4)}`` from rows of six tab-separated cells.

    ``hex_keys``: cell 0 is a hexadecimal tag, returned as an int. ``shared``: the value columns
    (1 to 3) whose repeated values are one object each (short, repetitive columns like VR and VM).
    """
    cells = table.replace("\n", "\t").split("\t")
    cells.pop()  # what follows the newline that ends the last row
    one = {}.setdefault
    retired = {"Y": True, "N": False}.__getitem__
    keys = cells[0::6]
    if hex_keys:
        keys = map(int, keys, [16] * len(keys))
    columns = [
        map(one, cells[n::6], cells[n::6]) if n in shared else cells[n::6] for n in (1, 2, 3)
    ]
    enabled = gc.isenabled()
    gc.disable()
    try:
        return dict(zip(keys, zip(*columns, map(retired, cells[5::6]), cells[4::6])))
    finally:
        if enabled:
            gc.enable()


def load_private_rows(table: str) -> dict:
    """``{creator: {pattern: (VR, VM, name, retired)}}`` from rows of six tab-separated cells
    (creator, pattern, VR, VM, name, retired Y/N) after a leading newline."""
    cells = table[1:].replace("\n", "\t").split("\t")
    cells.pop()
    one = {}.setdefault
    retired = {"Y": True, "N": False}.__getitem__
    entries = zip(map(one, cells[2::6], cells[2::6]), map(one, cells[3::6], cells[3::6]),
                  cells[4::6], map(retired, cells[5::6]))
    out: dict = {}
    enabled = gc.isenabled()
    gc.disable()
    try:
        for creator, pattern, entry in zip(cells[0::6], cells[1::6], entries):
            block = out.get(creator)
            if block is None:
                block = out[creator] = {}
            block[pattern] = entry
        return out
    finally:
        if enabled:
            gc.enable()
