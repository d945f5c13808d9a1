"""The compose task's commands: ``lstm compose`` writes a new piece (or continues a primer) as a
MIDI file; ``lstm train compose`` and compose's ``lstm eval`` options are declared here too."""

from __future__ import annotations

import shlex
import sys
from typing import Annotated, Optional

import typer

from lstm_cli.cli import options as o

COMMAND = "compose"

EVAL_OPTIONS = {
    "drums": (Annotated[bool, typer.Option("--drums/--no-drums", help="Compose: keep drum tracks (MIDI channel 10).")], False),
}


def command(
    output: Annotated[str, typer.Option("--output", "-o", help="The MIDI file to write; - for stdout (not a terminal).")],
    model: o.Model = None,
    length: Annotated[float, o.num("--length", lo=0, lo_open=True, hi=3600, help="Seconds of new music to aim for: the piece goes on to the first phrase end after it (at most 8 beats more), else to the next barline, and holds its last chord.")] = 30.0,
    cut: Annotated[bool, typer.Option("--cut", help="Stop at exactly --length instead, wherever the music is.")] = False,
    search: Annotated[int, o.num("--search", kind=int, lo=0, hi=256, help="Sample a chord again, up to this many times, when it makes parallel fifths or octaves or drops one of four voices (0: off).")] = 8,
    primer: Annotated[Optional[str], typer.Option("--primer", help="A MIDI file to continue (- for stdin); the output holds it, then its continuation.")] = None,
    temperature: Annotated[float, o.num("--temperature", "-t", lo=0, help="Below 1: safer; above 1: wilder; 0: greedy.")] = 1.0,
    top_k: Annotated[int, o.num("--top-k", kind=int, lo=0, help="Sample only among the k likeliest events (0: off).")] = 0,
    top_p: Annotated[float, o.num("--top-p", lo=0, lo_open=True, hi=1, help="Sample only among the likeliest events holding this much probability.")] = 1.0,
    tempo: Annotated[float, o.num("--tempo", lo=10, hi=400, help="Quarter notes per minute.")] = 90.0,
    program: Annotated[int, o.num("--program", kind=int, lo=0, hi=127, help="General MIDI instrument (0: piano, 19: church organ, 52: choir).")] = 0,
    key: Annotated[Optional[str], typer.Option("--key", help="The key: a tonic (D, F#, Bb), a mode (major, minor) or both (D minor); any: the model's choice. Default: major or minor as often as in the model's training music.")] = None,
    random_seed: o.RandomSeed = None,
    pianoroll: Annotated[Optional[str], typer.Option("--pianoroll", help="Also draw the piece as a piano roll PNG here.")] = None,
    wav: Annotated[Optional[str], typer.Option("--wav", help="Also render the piece as audio here (needs fluidsynth and a GM soundfont).")] = None,
):
    """Compose music event by event and write it as MIDI (default model: bach)."""
    from lstm_cli.core.errors import InputError, UsageError
    from lstm_cli.core.fileio import check_output, write_payload
    from lstm_cli.tasks import compose as task
    from lstm_cli.tasks.compose import keys, sampler

    asked = keys.parse(key) if key is not None else None
    if asked is not None and primer is not None and asked != (None, None):
        raise UsageError("--key cannot be used with --primer: the primer sets the key")
    formats = "-o writes MIDI (- for stdout), --pianoroll a PNG picture, --wav audio"
    check_output(output, "--output", dash=True, suffixes=(".mid", ".midi"), hint=formats)
    if pianoroll is not None:
        check_output(pianoroll, "--pianoroll", suffixes=(".png",), hint=formats)
    synth = None
    if wav is not None:
        from lstm_cli.render import audio

        check_output(wav, "--wav", suffixes=(".wav",), hint=formats)
        synth = audio.synthesizer()
    data, name = None, None
    if primer is not None:
        name = "stdin" if primer == "-" else primer
        try:
            data = sys.stdin.buffer.read() if primer == "-" else open(primer, "rb").read()
        except OSError as e:
            raise InputError(f"cannot read --primer {primer}: {e.strerror}") from None
    midi, notes, primer_beats, ending, phrased = task.compose(
        model, length, data, name or "primer", temperature, top_k, top_p, tempo, program, random_seed,
        command=shlex.join(["lstm", *sys.argv[1:]]), key=asked, cut=cut, search=search)
    if ending.how == "barline":
        why = (f"no phrase ended within {sampler.OVERSHOOT:g} beats after --length" if phrased
               else "this model knows no phrase ends (its training music marked none)")
        print(f"lstm: {why}: stopped at the first barline after it, the last chord held", file=sys.stderr)
    found = keys.key_of(notes)
    if asked is not None and any(want is not None and want != got for want, got in zip(asked, found)):
        print(f"lstm: no piece in {keys.name(asked)} came in {task.TRIES} tries; this one is in {keys.name(found)}",
              file=sys.stderr)
    write_payload(output, midi, what="MIDI bytes")
    if pianoroll is not None:
        from lstm_cli.render.pianoroll import pianoroll as draw

        draw(notes, pianoroll, primer_beats=primer_beats)
        print(f"lstm: piano roll drawn to {pianoroll}", file=sys.stderr)
    if synth is not None:
        audio.render_wav(midi, wav, synth)
        print(f"lstm: audio rendered to {wav}", file=sys.stderr)
    if output != "-":
        new = sum(n.start >= primer_beats for n in notes)
        made = f"{len(notes)} notes" if primer is None else f"{len(notes) - new} notes of primer, then {new} new"
        seconds = max((n.end for n in notes), default=0.0) * 60 / tempo
        print(f"lstm: {made}, in {keys.name(found)}, {seconds:.1f} s at {tempo:g} bpm -> {output}", file=sys.stderr)


def train(
    data: Annotated[list[str], typer.Option("--data", "-d", help="MIDI files or folders of them (searched recursively).")],
    output: o.Output,
    cfg,
    val_data: Annotated[Optional[list[str]], typer.Option("--val-data", help="Held-out MIDI files or folders (default: the last --val-fraction of the pieces).")] = None,
    val_fraction: o.ValFraction = 0.1,
    transpose: Annotated[bool, typer.Option("--transpose/--no-transpose", help="Train on every piece in all 12 keys that stay in range.")] = True,
    drums: Annotated[bool, typer.Option("--drums/--no-drums", help="Keep drum tracks (MIDI channel 10).")] = False,
    preset: o.Preset = "small",
    hidden: o.Hidden = None,
    layers: o.Layers = None,
    dropout: o.Dropout = 0.25,
    batch_size: o.BatchSize = 64,
    seq_len: o.SeqLen = 128,
    **start,
):
    """``lstm train compose``: an event-level music model on any folder of MIDI files."""
    from lstm_cli.tasks import compose as task
    from lstm_cli.tasks import text

    model = text.preset(preset, hidden=hidden, layers=layers, dropout=dropout)
    data_cfg = text.TextData(batch_size=batch_size, seq_len=seq_len, val_fraction=val_fraction)
    typed = o.typed_flags(start, model, vars(data_cfg), preset=preset)
    task.train(data, val_data, output, cfg, data_cfg, model, transpose=transpose, drums=drums, given=typed, **start)
