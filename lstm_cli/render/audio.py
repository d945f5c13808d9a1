"""MIDI to audio through the ``fluidsynth`` program and a General MIDI soundfont, when the system
has both (Debian: ``fluidsynth`` and ``timgm6mb-soundfont``; ``make audio-tools`` installs them).
Nothing else needs them: a missing synthesizer is one line, found before any work is done."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

# Where Debian, Fedora, Arch and Homebrew put a GM soundfont; LSTM_SOUNDFONT names another.
SOUNDFONTS = ("/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/sounds/sf2/FluidR3_GM.sf2",
              "/usr/share/soundfonts/FluidR3_GM.sf2", "/usr/share/soundfonts/default.sf2",
              "/opt/homebrew/share/soundfonts/default.sf2")
INSTALL = ("install them: sudo apt-get install fluidsynth timgm6mb-soundfont (or make audio-tools); "
           "LSTM_SOUNDFONT=FILE.sf2 names another soundfont")


def synthesizer() -> tuple[str, str]:
    """``(fluidsynth program, soundfont)``; MissingToolError (exit 7) when one is missing."""
    from lstm_cli.core.errors import MissingToolError

    chosen = os.environ.get("LSTM_SOUNDFONT")
    if chosen and not os.path.isfile(chosen):
        raise MissingToolError(f"LSTM_SOUNDFONT={chosen} is not a file", INSTALL)
    font = chosen or next((f for f in SOUNDFONTS if os.path.isfile(f)), None)
    binary = shutil.which("fluidsynth")
    if binary is None or font is None:
        what = "the fluidsynth program" if binary is None else "a General MIDI soundfont (.sf2)"
        raise MissingToolError(f"--wav needs {what}, which this machine lacks", INSTALL)
    return binary, font


def render_wav(midi: bytes, path: str, synth: tuple[str, str], rate: int = 44100) -> None:
    """Render ``midi`` to a 16-bit stereo WAV at ``path``, atomically."""
    from lstm_cli.core.errors import MissingToolError
    from lstm_cli.core.fileio import atomic_open

    binary, font = synth
    with tempfile.TemporaryDirectory(prefix="lstm-wav-") as tmp:
        mid, wav = os.path.join(tmp, "in.mid"), os.path.join(tmp, "out.wav")
        with open(mid, "wb") as f:
            f.write(midi)
        done = subprocess.run([binary, "-ni", "-q", "-T", "wav", "-F", wav, "-r", str(rate), font, mid],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if done.returncode != 0 or not os.path.isfile(wav) or os.path.getsize(wav) <= 44:
            said = (done.stderr + done.stdout).strip().splitlines()
            raise MissingToolError(f"fluidsynth could not render the piece: {said[-1] if said else f'exit {done.returncode}'}",
                                   INSTALL)
        with open(wav, "rb") as src, atomic_open(path, "wb") as dst:
            shutil.copyfileobj(src, dst)
