"""The JSON API's requests and responses (pydantic), with every input bounded.

Every request is treated as hostile: unknown fields are refused (``extra="forbid"``), numbers
must be finite and in range, and every text, list and upload has a cap, far below what would tie
up a worker for long (the CLI's own caps are for one user at a terminal and stay higher). A value
past a cap is a 422 whose ``error`` names the field and the cap; the bounds show in /docs too.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lstm_cli.cli.options import SEED_MAX

# Bodies and uploads (bytes): checked as the body arrives (app.py), before any parsing.
MAX_BODY = 1 << 20  # 1 MiB: a request to any endpoint but caption
MAX_IMAGE_BYTES = 5 << 20  # 5 MiB: an image for caption, as decoded from base64
MAX_CAPTION_BODY = MAX_IMAGE_BYTES * 4 // 3 + (64 << 10)  # its base64 and the rest of the request
MAX_PIXELS = 20_000_000  # an image's width x height (a 5000 x 4000 photo); pillow's own guard is at ~89M
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")  # pillow opens no other format for a request

# Work: what one request may ask for.
MAX_SEED_CHARS = 1_000  # generate's seed (read one character at a time before the first new one)
MAX_CHARS = 2_000  # characters generate samples
MAX_TRANSLATE_CHARS = 2_000
MAX_TRANSLATE_LINES = 20
MAX_WRITE_CHARS = 300
MAX_WRITE_LINES = 6  # of 40 characters, as lstm write wraps them: ~1.6 s a line on one idle core
MAX_INK_SAMPLES = 16  # read: lines of ink in one request
MAX_INK_STROKES = 5_000  # in all
MAX_INK_POINTS = 30_000  # in all (lstm read takes 100,000 a sample)
MAX_COMPOSE_SECONDS = 60.0
MAX_SEQUENCE_CHARS = 500
MAX_INSPECT_CHARS = 2_000
MAX_BEAM = 16
MODEL_NAME = 64  # characters of a model's name (a registry name: nothing else is accepted)

Model = Annotated[Optional[str], Field(max_length=MODEL_NAME, description="A shipped model's name (GET /api/models); default: the task's own.")]
RandomSeed = Annotated[Optional[int], Field(ge=0, le=SEED_MAX, description="Seed for reproducible output.")]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class GenerateRequest(Request):
    model: Model = None
    seed: Annotated[str, Field(max_length=MAX_SEED_CHARS, description="Text that primes the model.")] = ""
    n: Annotated[int, Field(ge=0, le=MAX_CHARS, description="How many characters to generate.")] = 500
    temperature: Annotated[float, Field(ge=0, le=10, description="Below 1: safer; above 1: wilder; 0: greedy.")] = 0.8
    top_k: Annotated[int, Field(ge=0, le=1000, description="Sample among the k likeliest characters (0: off).")] = 0
    top_p: Annotated[float, Field(gt=0, le=1, description="Sample among the likeliest characters holding this much probability.")] = 1.0
    oov: Literal["error", "skip", "replace"] = "error"
    echo: Annotated[bool, Field(description="Stream the seed first, then its continuation.")] = True
    random_seed: RandomSeed = None


class InkSample(Request):
    """One line of ink, as ``lstm write --strokes`` writes it: strokes of [x, y] points."""

    text: Annotated[str, Field(max_length=1_000)] = ""
    strokes: Annotated[list[Annotated[list[tuple[float, float]], Field(max_length=MAX_INK_POINTS)]],
                       Field(max_length=MAX_INK_STROKES)]
    hand: Annotated[Optional[str], Field(max_length=40)] = None


class WriteRequest(Request):
    model: Model = None
    text: Annotated[str, Field(min_length=1, max_length=MAX_WRITE_CHARS)]
    hand: Optional[Literal["print", "cursive"]] = None
    style: Annotated[Optional[int], Field(ge=0, le=1000, description="One of the model's kept styles, by number.")] = None
    bias: Annotated[float, Field(ge=0, le=10, description="Neater with more (Graves' sampling bias); 0: as sampled.")] = 0.75
    width: Annotated[int, Field(ge=100, le=2000, description="The SVG's width in pixels.")] = 800
    oov: Annotated[Literal["error", "skip"], Field(description="Characters the model cannot write: an error, or left out.")] = "error"
    random_seed: RandomSeed = None

    @model_validator(mode="after")
    def _one_hand(self):
        if self.hand is not None and self.style is not None:
            raise ValueError("hand and style both choose the hand: give one")
        return self


class WriteResponse(BaseModel):
    lines: list[str]
    points: int
    strokes: list[InkSample]
    svg: str
    warnings: list[str] = []


class ReadRequest(Request):
    model: Model = None
    samples: Annotated[list[InkSample], Field(min_length=1, max_length=MAX_INK_SAMPLES)]
    beam: Annotated[Optional[int], Field(ge=1, le=MAX_BEAM, description="Prefix beam search; 1: best path. Default: 8 with a language model, else 1.")] = None
    lm: Annotated[Optional[str], Field(max_length=MODEL_NAME, description="A shipped text model as the language model, or none. Default: the one the reader was tuned with.")] = None
    view: bool = Field(False, description="Also the reading of the last sample as `lstm read --view` draws it (PNG, base64): the outputs, the cell states, the ink, the gradient.")


class ReadResponse(BaseModel):
    texts: list[str]
    beam: int
    lm: str
    view: Optional[str] = None  # PNG, base64


class ComposeRequest(Request):
    model: Model = None
    key: Annotated[Optional[str], Field(max_length=20, description="A tonic, a mode or both (D minor); any: the model's choice.")] = None
    length: Annotated[float, Field(gt=0, le=MAX_COMPOSE_SECONDS, description="Seconds of music to aim for.")] = 20.0
    random_seed: RandomSeed = None


class Note(BaseModel):
    pitch: int
    velocity: int
    start: float  # beats
    end: float


class ComposeResponse(BaseModel):
    midi: str  # base64
    notes: list[Note]
    pianoroll: str  # PNG, base64
    key: str
    tempo: float
    seconds: float
    ending: str


class TranslateRequest(Request):
    model: Model = None
    text: Annotated[str, Field(max_length=MAX_TRANSLATE_CHARS, description="English, one sentence or more per line.")]
    beam: Annotated[int, Field(ge=1, le=MAX_BEAM)] = 5
    attention: Annotated[bool, Field(description="Also draw the first sentence's attention (PNG, base64).")] = False


class TranslateResponse(BaseModel):
    translation: str  # a line per line of the text
    warnings: list[str]
    attention: Optional[str] = None


class CaptionRequest(Request):
    model: Model = None
    image: Annotated[Optional[str], Field(max_length=MAX_CAPTION_BODY, description="An image (PNG, JPEG, GIF, BMP, WebP) as base64, or a data: URL.")] = None
    scene: Annotated[Optional[int], Field(ge=0, le=SEED_MAX, description="Instead: caption the scene the shapes generator draws from this seed.")] = None
    beam: Annotated[int, Field(ge=1, le=MAX_BEAM)] = 3
    attention: bool = Field(False, description="Also where the model looked for each word, as `lstm caption --attention` draws it (PNG, base64).")

    @model_validator(mode="after")
    def _one_picture(self):
        if (self.image is None) == (self.scene is None):
            raise ValueError("give image or scene, not both and not neither")
        return self


class Scene(BaseModel):
    png: str  # base64
    caption: str  # the generator's own


class CaptionResponse(BaseModel):
    caption: str
    unsure: Optional[str] = None
    scene: Optional[Scene] = None
    attention: Optional[str] = None  # PNG, base64


class PredictRequest(Request):
    model: Model = None
    sequence: Annotated[str, Field(min_length=1, max_length=MAX_SEQUENCE_CHARS, description="Whole numbers or letters: 2 4 8")]
    n: Annotated[int, Field(ge=1, le=10, description="How many next elements.")] = 1
    explain: bool = False
    top: Annotated[int, Field(ge=1, le=20, description="With explain: how many alternatives.")] = 5


class Alternative(BaseModel):
    element: str
    probability: float


class PredictResponse(BaseModel):
    sequence: list[str]
    next: list[str]
    probability: float
    alternatives: Optional[list[Alternative]] = None
    guess: Optional[str] = None
    warnings: list[str] = []  # e.g. fewer than n next elements, and why


class InspectRequest(Request):
    model: Model = None
    text: Annotated[str, Field(min_length=1, max_length=MAX_INSPECT_CHARS)]
    cell: Annotated[Optional[str], Field(max_length=20, description="LAYER:CELL; without it, the surprise per character.")] = None


class InspectResponse(BaseModel):
    cell: Optional[str]
    values: list[float]  # one per character of the text: tanh(c) of the cell, or -log p (nats)
    mean_surprise: float


class ModelInfo(BaseModel):
    name: str
    task: str
    endpoints: list[str]
    metric: Optional[dict] = None
    description: str = ""
    parameters: int = 0


class ModelsResponse(BaseModel):
    models: list[ModelInfo]


class ErrorBody(BaseModel):
    error: str
    hint: Optional[str] = None
    id: Optional[str] = None  # a server error's, as logged on the server
