"""Images and their captions: reading any picture pillow can open, the two caption-file formats
people have (Flickr8k's ``image.jpg#0<TAB>caption`` and COCO's ``captions.json``), and the word
vocabulary."""

from __future__ import annotations

import csv
import json
import re
import warnings
from collections import Counter
from pathlib import Path

from lstm_cli.core.errors import InputError

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
_WORD = re.compile(r"[\w']+|[^\w\s]")


# ---------------------------------------------------------------- images


def load_image(source, size: int, name: str | None = None, max_aspect: float = 1.0, notes: list | None = None,
               formats: tuple[str, ...] | None = None):
    """A picture as a uint8 tensor (3, H, W) (:func:`fit`): any mode (RGBA and palette images
    composited on white, 16-bit and float greys scaled to 8 bits, CMYK converted), EXIF rotation
    honoured, the first frame of an animation. Not an image (of ``formats``, pillow's names, if
    given), a truncated one, or one over pillow's decompression-bomb limit: an :class:`InputError`
    naming the file. What a user should know (an animation: its first frame) is appended to ``notes``."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    name = name or str(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source, formats=formats) as img:
                img.load()
                frames = getattr(img, "n_frames", 1)
                img = ImageOps.exif_transpose(img)
    except FileNotFoundError:
        raise InputError(f"{name}: no such image file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a folder, not an image") from None
    except UnidentifiedImageError:
        raise InputError(f"{name}: not an image pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"{name}: too many pixels (over pillow's decompression-bomb limit of "
                         f"{Image.MAX_IMAGE_PIXELS:,})") from None
    except (OSError, SyntaxError, ValueError) as e:  # truncated, corrupt
        raise InputError(f"{name}: unreadable image ({e})") from None
    if frames > 1 and notes is not None:
        notes.append(f"{name}: an animation of {frames} frames; its first frame is used")
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        img = img.convert("F")
        lo, hi = img.getextrema()
        img = img.point(lambda v: (v - lo) * 255.0 / max(hi - lo, 1e-6)).convert("L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", img.size, (255, 255, 255, 255)), img)
    return fit(img.convert("RGB"), size, max_aspect)


def fit(img, size: int, max_aspect: float = 1.0, cell: int | None = None):
    """An RGB pillow image -> uint8 tensor (3, H, W) for a model of ``size`` pixels. At
    ``max_aspect`` 1 (models trained before aspect ratios were kept): squeezed to size x size.
    Else the aspect ratio is kept: the shorter side becomes ``size`` and the longer one the
    multiple of ``cell`` (default size / 8, one cell of the encoder's grid) nearest to it; a
    picture longer than ``max_aspect`` : 1 is reduced to that length and padded across with
    its border's median colour (letterboxed), centred."""
    import torch
    from PIL import Image

    w, h = img.size
    if max_aspect <= 1:
        tw = th = size
        img = img.resize((size, size), Image.BILINEAR, reducing_gap=3.0)
    else:
        cell = cell or max(size // 8, 1)
        a = w / h
        long = min(max(round(size * max(a, 1 / a) / cell), size // cell) * cell, int(size * max_aspect) // cell * cell)
        tw, th = (long, size) if a >= 1 else (size, long)
        short = round(long / max(a, 1 / a))  # of the picture itself, at most ``size``
        iw, ih = (tw, min(short, size)) if a >= 1 else (min(short, size), th)
        img = img.resize((max(iw, 1), max(ih, 1)), Image.BILINEAR, reducing_gap=3.0)
        if (iw, ih) != (tw, th):
            import numpy as np

            px = np.asarray(img)
            edge = np.concatenate([px[0], px[-1], px[:, 0], px[:, -1]])
            box = Image.new("RGB", (tw, th), tuple(int(v) for v in np.median(edge, 0)))
            box.paste(img, ((tw - iw) // 2, (th - ih) // 2))
            img = box
    return torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).view(th, tw, 3).permute(2, 0, 1).clone()


# ---------------------------------------------------------------- captions


def words(text: str) -> list[str]:
    """Lower-cased words and punctuation marks: "A red circle, above." -> a red circle , above ."""
    return _WORD.findall(text.lower())


def detokenize(ws: list[str]) -> str:
    return re.sub(r" ([,.;:!?])", r"\1", " ".join(ws))


def _find_image(folder: Path, name: str) -> Path:
    for base in (folder, folder / "images", folder / "Images"):
        if (base / name).is_file():
            return base / name
    return folder / name


def read_captioned(folder: str) -> list[tuple[Path, list[str]]]:
    """(image path, its captions) for every image a caption file in ``folder`` names, in file
    order. Formats: ``captions.tsv``/``captions.txt`` with ``image#N<TAB>caption`` lines
    (Flickr8k; also its CSV form ``image,caption`` with that header), or ``captions.json`` with
    COCO's ``images`` and ``annotations``. Images are looked up beside the file, then in
    ``images/``."""
    root = Path(folder)
    if root.is_file():
        root, files = root.parent, [root]
    elif root.is_dir():
        files = [root / n for n in ("captions.json", "captions.tsv", "captions.txt") if (root / n).is_file()]
    else:
        raise InputError(f"no such folder: {folder}")
    if not files:
        raise InputError(f"{folder}: no captions.tsv, captions.txt or captions.json",
                         hint="a folder of images with captions.tsv lines 'image.jpg#0<TAB>caption', or COCO's captions.json")
    path = files[0]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    caps: dict[str, list[str]] = {}
    if path.suffix == ".json":
        try:
            coco = json.loads(text)
            names = {im["id"]: im["file_name"] for im in coco["images"]}
            for a in coco["annotations"]:
                caps.setdefault(names[a["image_id"]], []).append(a["caption"].strip())
        except (ValueError, KeyError, TypeError) as e:
            raise InputError(f"{path}: not COCO captions ({type(e).__name__}: {e})",
                             hint='{"images": [{"id", "file_name"}], "annotations": [{"image_id", "caption"}]}') from None
    else:
        lines = text.splitlines()
        if lines and lines[0].strip().lower() == "image,caption":  # Flickr8k as CSV (Kaggle's copy)
            rows = [(r[0], r[1]) for r in csv.reader(lines[1:]) if len(r) >= 2]
        else:
            rows = []
            for n, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                if "\t" not in line:
                    raise InputError(f"{path}:{n}: no tab between image and caption",
                                     hint="one 'image.jpg#0<TAB>caption' per line")
                rows.append(tuple(line.split("\t", 1)))
        for image, cap in rows:
            caps.setdefault(image.split("#")[0].strip(), []).append(cap.strip())
    items = [(_find_image(root, name), [c for c in cs if c]) for name, cs in caps.items()]
    items = [(p, cs) for p, cs in items if cs]
    if not items:
        raise InputError(f"{path}: no captions")
    return items


def build_vocab(captions: list[str], size: int, min_count: int = 1) -> list[str]:
    """The specials, then the ``size`` commonest words seen at least ``min_count`` times."""
    counts = Counter(w for c in captions for w in words(c))
    kept = [w for w, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_count]
    return SPECIALS + kept[: max(size - len(SPECIALS), 0)]


def encode(vocab_index: dict[str, int], caption: str, max_len: int) -> list[int]:
    """Word ids of ``caption`` then EOS, cut to ``max_len`` words."""
    return [vocab_index.get(w, UNK) for w in words(caption)][:max_len] + [EOS]
