"""Attention as a picture: which source pieces each target piece looked at (Bahdanau et al. 2015, fig. 3)."""

from __future__ import annotations

from lstm_cli import render


def heatmap(src: list[str], tgt: list[str], att: list[list[float]], path: str) -> None:
    """:func:`heatmap_picture`, written atomically as PNG."""
    render.save_png(heatmap_picture(src, tgt, att), path)


def heatmap_picture(src: list[str], tgt: list[str], att: list[list[float]]):
    """The attention matrix ``att`` (target x source) as a heatmap: source pieces across the top,
    target pieces down the left, darker = more attention (a pillow image)."""
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
    return img


def image_grid(image, words: list[str], maps: list[list[float]], path: str, cell: int = 128,
               grid: tuple[int, int] | None = None) -> None:
    """:func:`image_grid_picture`, written atomically as PNG."""
    render.save_png(image_grid_picture(image, words, maps, cell, grid), path)


def image_grid_picture(image, words: list[str], maps: list[list[float]], cell: int = 128,
                       grid: tuple[int, int] | None = None):
    """Where a captioner looked (Xu et al. 2015, fig. 2): the image once per generated word, lit
    where that word's attention weights (``grid`` = (rows, columns) of them, row by row; default
    a square grid; weights past the grid, padding of a batch, are ignored) are high and dimmed
    elsewhere, the word underneath. ``image``: uint8 tensor (3, H, W), shown with its shorter
    side ``cell`` pixels. -> a pillow image."""
    from PIL import Image, ImageDraw

    font = render.font(14)
    h, w = image.shape[1], image.shape[2]
    tw, th = (round(cell * w / h), cell) if w >= h else (cell, round(cell * h / w))
    pic = Image.frombytes("RGB", (w, h), image.permute(1, 2, 0).contiguous().numpy().tobytes())
    pic = pic.resize((tw, th), Image.NEAREST)
    cols = max(1, min(len(words) + 1, (6 * cell) // tw))
    rows = -(-(len(words) + 1) // cols)
    label = 22
    img = Image.new("RGB", (cols * (tw + 6) + 6, rows * (th + label + 6) + 6), "white")
    d = ImageDraw.Draw(img)
    for k, (word, weights) in enumerate([("(image)", None)] + list(zip(words, maps))):
        x, y = 6 + (k % cols) * (tw + 6), 6 + (k // cols) * (th + label + 6)
        shown = pic
        if weights is not None:
            gh, gw = grid or (round(len(weights) ** 0.5),) * 2
            weights = weights[: gh * gw]
            top = max(weights) or 1.0
            light = Image.frombytes("L", (gw, gh), bytes(int(255 * min(v / top, 1.0)) for v in weights))
            light = light.resize((tw, th), Image.BILINEAR).point(lambda v: 60 + v * 195 // 255)
            shown = Image.composite(pic, Image.new("RGB", (tw, th), "black"), light)
        img.paste(shown, (x, y))
        text = render.printable(word, font)
        d.text((x + (tw - d.textlength(text, font=font)) / 2, y + th + 3), text, fill="black", font=font)
    return img
