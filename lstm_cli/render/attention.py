"""Attention as a picture: which source pieces each target piece looked at (Bahdanau et al. 2015, fig. 3)."""

from __future__ import annotations

from lstm_cli import render


def heatmap(src: list[str], tgt: list[str], att: list[list[float]], path: str) -> None:
    """The attention matrix ``att`` (target x source) as a heatmap: source pieces across the top,
    target pieces down the left, darker = more attention. Written atomically as PNG."""
    from PIL import Image, ImageDraw

    font = render.font(13)
    shown = lambda p: render.printable(p.replace("\u2581", "_"), font)  # noqa: E731 (▁: word start)
    src_pieces, tgt = [shown(p) for p in src], [shown(p) for p in tgt]
    cell = 22
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))
    width = lambda s: int(measure.textlength(s, font=font))  # noqa: E731
    left = max([width(p) for p in tgt] + [10]) + 10
    top = max([width(p) for p in src_pieces] + [10]) + 10
    img = Image.new("RGB", (left + cell * len(src_pieces) + 10, top + cell * len(tgt) + 10), "white")
    d = ImageDraw.Draw(img)
    for i, row in enumerate(att):
        for j, w in enumerate(row[: len(src_pieces)]):
            shade = int(255 * (1 - w))
            d.rectangle([left + j * cell, top + i * cell, left + (j + 1) * cell - 1, top + (i + 1) * cell - 1],
                        fill=(shade, shade, 255 - int(95 * w)))
    for i, p in enumerate(tgt):
        d.text((left - 5 - width(p), top + i * cell + 5), p, fill="black", font=font)
    for j, p in enumerate(src_pieces):  # column labels, written sideways
        label = Image.new("RGB", (width(p) + 4, 20), "white")
        ImageDraw.Draw(label).text((2, 1), p, fill="black", font=font)
        label = label.rotate(90, expand=True)
        img.paste(label, (left + j * cell + (cell - label.width) // 2, top - 5 - label.height))
    d.rectangle([left - 1, top - 1, left + cell * len(src_pieces), top + cell * len(tgt)], outline="gray")
    render.save_png(img, path)

