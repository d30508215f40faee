"""Dataset layouts on disk -> labelled entries (location, label, generator, split, category).

One rule reads every folder layout the field uses, because they differ only in names:

- GenImage: ``<generator>/{train,val}/{ai,nature}/...``
- CNNDetection / ForenSynths: ``<class>/{0_real,1_fake}/...`` (training set) and
  ``test/<generator>/<class>/{0_real,1_fake}/...`` or ``test/<generator>/{0_real,1_fake}``
  (test set)
- plain ``real/`` + ``fake/`` (any case, singular or plural), optionally under split or
  generator folders, as in CIFAKE's ``train/{REAL,FAKE}``

The deepest folder whose name is a class name gives the label; split names (train, val, test)
above it give the split; the other folders above it give the generator, then the category.
``<name>/{0_real,1_fake}`` names a generator below ``test`` or beside deeper class folders, else
a class (the training set). The folder given is read like one more folder above its files: a
split name gives the split, and any other name is the generator of a one-generator folder
(``test/progan`` or ``progan`` holding ``{0_real,1_fake}``, ``sdv4`` holding ``train/ai``) when
no folder inside names one; plain ``real``/``fake`` folders never take the folder's name, which
is usually a dataset's, not a generator's.
A CSV listing (``path,label[,generator,split]``) and zip archives (read in place, members named
``archive.zip!member``) are read the same way. Files under no class folder get no label.
"""

from __future__ import annotations

import csv
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from spotfake.io.paths import is_image_name
from spotfake.records import GENERATED, REAL

# Folder names that carry a label, as the layouts spell them (compared lower-cased).
LABEL_NAMES: dict[str, int] = {
    "0_real": REAL, "real": REAL, "reals": REAL, "nature": REAL, "natural": REAL,
    "authentic": REAL, "1_fake": GENERATED, "fake": GENERATED, "fakes": GENERATED,
    "ai": GENERATED, "generated": GENERATED, "synthetic": GENERATED,
}  # fmt: skip
SPLIT_NAMES: dict[str, str] = {
    "train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
    "test": "test", "testing": "test",
}  # fmt: skip
# Label words a CSV listing may use besides 0 and 1.
_LABEL_WORDS: dict[str, int] = {
    **LABEL_NAMES, "0": REAL, "1": GENERATED, "false": REAL, "true": GENERATED,
}  # fmt: skip
_CNNDETECTION_LABELS = frozenset({"0_real", "1_fake"})
# Label folders of the layouts that keep one generator per folder (CNNDetection, GenImage).
_ONE_GENERATOR_LABELS = _CNNDETECTION_LABELS | {"ai", "nature"}
ZIP_SEPARATOR = "!"


@dataclass(frozen=True)
class Entry:
    """One image file of a dataset, before its headers are read."""

    location: str  # a file path, or "archive.zip!member"
    label: int | None = None
    generator: str | None = None
    split: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class _Parts:
    """What a file's folder names say about it."""

    label: int | None
    generator: str | None
    split: str | None
    category: str | None
    cnndetection_single: bool  # "<name>/{0_real,1_fake}": a class or a generator?
    one_generator: bool  # the label folder is CNNDetection's or GenImage's
    under_test: bool  # a "test" folder sits above the first other folder: "test/<name>/..."


# Where an archive's path ends and its member begins: the first ".zip!" (any case). A "!"
# elsewhere is part of a file or folder name ("shots!/a.png" is a file, not a zip member).
_ZIP_BOUNDARY = re.compile(r"\.zip" + re.escape(ZIP_SEPARATOR), re.IGNORECASE)


def is_zip_location(location: str) -> bool:
    """True for "archive.zip!member" (and "archive.zip!prefix/") locations."""
    return _ZIP_BOUNDARY.search(location) is not None


def split_zip_location(location: str) -> tuple[str, str]:
    """("path/archive.zip", "member") of a zip location; ValueError for any other location."""
    match = _ZIP_BOUNDARY.search(location)
    if match is None:
        raise ValueError(f"{location}: not an archive.zip{ZIP_SEPARATOR}member location")
    return location[: match.end() - 1], location[match.end() :]


def discover(
    dataset: str | os.PathLike[str],
    generator: str | None = None,
    *,
    name_from_folder: bool = True,
) -> list[Entry]:
    """Every image of a dataset (folder, zip archive, "archive.zip!prefix/" or CSV listing).

    generator: the generator name for entries whose layout names none (a one-generator set);
    without it, a one-generator folder's own name is used (see the module doc) unless
    name_from_folder is False. Raises FileNotFoundError for a missing dataset and ValueError
    for an unreadable listing.
    """
    text = os.fspath(dataset)
    name_from_folder = name_from_folder and generator is None  # the user's name comes first
    if is_zip_location(text) or text.lower().endswith(".zip"):
        archive, prefix = split_zip_location(text) if is_zip_location(text) else (text, "")
        archive = os.path.abspath(archive)
        base = prefix[: prefix.rfind("/") + 1]  # the folder the prefix points into
        root = PurePosixPath(base).name or PurePosixPath(archive).stem
        names = [name[len(base) :] for name in _zip_image_names(archive, prefix)]
        entries = _from_names(
            names, lambda name: f"{archive}{ZIP_SEPARATOR}{base}{name}", root, name_from_folder
        )
    elif os.path.isdir(text):
        text = os.path.abspath(text)
        names = _folder_image_names(text)
        entries = _from_names(
            names,
            lambda name: os.path.join(text, *name.split("/")),
            os.path.basename(text),
            name_from_folder,
        )
    elif text.lower().endswith(".csv") and os.path.isfile(text):
        entries = read_listing(text)
    elif os.path.exists(text):
        raise ValueError(f"{text}: not a folder, zip archive or CSV listing")
    else:
        raise FileNotFoundError(f"{text}: no such dataset")
    if generator is not None:
        entries = [_with_generator(e, generator) for e in entries]
    return entries


def read_listing(path: str | os.PathLike[str]) -> list[Entry]:
    """Entries of a CSV listing with columns path,label[,generator,split[,category]].

    Relative paths are relative to the CSV's folder. Labels: 0/1, real/fake, nature/ai...
    """
    base = os.path.dirname(os.path.abspath(path))
    entries = []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "path" not in reader.fieldnames:
            raise ValueError(f"{path}: a listing needs the columns path,label[,generator,split]")
        for line, row in enumerate(reader, start=2):
            location = row["path"]
            if not os.path.isabs(location):
                location = os.path.join(base, location)
            entries.append(
                Entry(
                    location=location,
                    label=_parse_label(row.get("label"), path, line),
                    generator=row.get("generator") or None,
                    split=row.get("split") or None,
                    category=row.get("category") or None,
                )
            )
    return entries


def _parse_label(value: str | None, path: str | os.PathLike[str], line: int) -> int | None:
    """0/1 from a listing's label cell (empty means unknown); ValueError naming the line."""
    if value is None or not value.strip():
        return None
    label = _LABEL_WORDS.get(value.strip().lower())
    if label is None:
        raise ValueError(f"{path}:{line}: label {value!r} is not 0/1 or real/fake")
    return label


def _folder_image_names(root: str) -> list[str]:
    """Image files below a folder as sorted '/'-joined relative names; hidden names skipped."""
    names: list[str] = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        rel = os.path.relpath(folder, root)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        names.extend(prefix + f for f in files if not f.startswith(".") and is_image_name(f))
    return sorted(names)


def _zip_image_names(archive: str, prefix: str) -> list[str]:
    """Image members of a zip archive under a prefix, sorted."""
    if not os.path.isfile(archive):
        raise FileNotFoundError(f"{archive}: no such archive")
    with zipfile.ZipFile(archive) as zf:
        return sorted(
            info.filename
            for info in zf.infolist()
            if not info.is_dir()
            and info.filename.startswith(prefix)
            and is_image_name(info.filename)
            and not PurePosixPath(info.filename).name.startswith(".")
        )


def _from_names(
    names: list[str], locate: Callable[[str], str], root: str, name_from_folder: bool
) -> list[Entry]:
    """Entries from names relative to the folder given (named root); see the module doc."""
    parts = [_parse_parts(name) for name in names]
    root_split = SPLIT_NAMES.get(root.lower())
    # "<name>/{0_real,1_fake}" names a class in the training layout, where no file sits deeper,
    # and a generator in the test layout, where most generators have class folders below.
    deeper = any(p.label is not None and p.category is not None for p in parts)
    read = [_resolved(p, deeper, root_split) for p in parts]
    named = any(generator is not None for generator, _, _ in read)
    # A one-generator folder: no folder inside names a generator, so the folder itself does.
    fallback = root if name_from_folder and root and root_split is None and not named else None
    entries = []
    for name, p, (generator, category, split) in zip(names, parts, read, strict=True):
        if generator is None and p.one_generator:
            generator = fallback
        entries.append(Entry(locate(name), p.label, generator, split, category))
    return entries


def _resolved(
    p: _Parts, deeper: bool, root_split: str | None
) -> tuple[str | None, str | None, str | None]:
    """(generator, category, split) of a file: a "<name>/{0_real,1_fake}" class or generator."""
    split = p.split or root_split
    test_set = p.under_test or root_split == "test"  # CNNDetection's test/<generator>/...
    if p.cnndetection_single and not deeper and not test_set:
        return None, p.generator, split
    return p.generator, p.category, split


def _parse_parts(name: str) -> _Parts:
    """Label, split, generator and category from a file's folder names (see the module doc)."""
    folders = PurePosixPath(name).parts[:-1]
    index = next(
        (i for i in range(len(folders) - 1, -1, -1) if folders[i].lower() in LABEL_NAMES), None
    )
    if index is None:
        return _Parts(None, None, None, None, False, False, False)
    above = folders[:index]
    splits = [SPLIT_NAMES[f.lower()] for f in above if f.lower() in SPLIT_NAMES]
    others = [f for f in above if f.lower() not in SPLIT_NAMES]
    first = above.index(others[0]) if others else len(above)
    label_folder = folders[index].lower()
    return _Parts(
        label=LABEL_NAMES[label_folder],
        generator=others[0] if others else None,
        split=splits[-1] if splits else None,
        category="/".join(others[1:]) or None,
        cnndetection_single=len(others) == 1 and label_folder in _CNNDETECTION_LABELS,
        one_generator=label_folder in _ONE_GENERATOR_LABELS,
        under_test=any(SPLIT_NAMES[f.lower()] == "test" for f in above[:first]),
    )


def _with_generator(entry: Entry, generator: str) -> Entry:
    """The entry with a generator name where its layout gave none."""
    if entry.generator is not None:
        return entry
    return Entry(entry.location, entry.label, generator, entry.split, entry.category)


def output_folders(
    generator: str | None, category: str | None, split: str | None, fake: bool
) -> list[str]:
    """Folders that `spotfake.data.layouts` reads back as this generator, category and split.

    (Read with name_from_folder=False: the copy's own folder name is not a generator.)
    """
    if generator is None and category:
        label = "1_fake" if fake else "0_real"  # CNNDetection: "<class>/{0_real,1_fake}"
    else:
        label = "fake" if fake else "real"
    categories = category.split("/") if category else []
    return [p for p in (generator, *categories, split, label) if p]


def source_stem(location: str) -> str:
    """A source file's name without its suffix (a zip member's own name)."""
    if is_zip_location(location):
        location = split_zip_location(location)[1]
    return PurePosixPath(location.replace("\\", "/")).stem or "image"
