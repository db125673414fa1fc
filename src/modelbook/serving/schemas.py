"""Request and response bodies of the model server (pydantic), with the limits that validation enforces."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"
MAX_ROWS = 64
MAX_TEXTS = 32
MAX_TEXT_CHARS = 2000

Pixel = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Image = Annotated[list[Pixel], Field(min_length=784, max_length=784, description="28×28 pixels in [0, 1], row-major")]


class Strict(BaseModel):
    """Request bodies: no unknown fields, and strict types ("0.5" is no number, true is no pixel, 1 is no text)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class PredictRequest(Strict):
    inputs: list[Image] = Field(min_length=1, max_length=MAX_ROWS, description=f"1 to {MAX_ROWS} images")


class Prediction(BaseModel):
    label: int
    class_name: str
    probabilities: list[float]


class PredictResponse(BaseModel):
    model: str
    version: int
    predictions: list[Prediction]


class EmbedRequest(Strict):
    texts: list[Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS)]] = Field(min_length=1, max_length=MAX_TEXTS)


class EmbedResponse(BaseModel):
    model: str
    version: int
    dimensions: int
    embeddings: list[list[float]]


class ModelInfo(BaseModel):
    name: str
    kind: str | None
    version: int | None
    versions: list[int]


class ActivateResponse(BaseModel):
    model: str
    previous: int | None
    active: int


class AuditHead(BaseModel):
    seq: int
    hash: str


class AuditResponse(BaseModel):
    records: int
    head: AuditHead
    verified: bool
    first_bad: int | None
    reason: str
    tail: list[dict]
    next_after: int | None = None  # pass as ?after= for the next page (None: no more records)


class Health(BaseModel):
    status: str
    models: dict[str, int | None] = {}
    reason: str = ""


class ChatMessage(Strict):
    role: Literal["user", "assistant"] = Field(description="'system' is not accepted: the server owns the system prompt")
    content: str = Field(min_length=1, max_length=4000)


class ChatRequest(Strict):
    messages: list[ChatMessage] = Field(min_length=1, max_length=16)
    max_new_tokens: int = Field(default=64, ge=1, le=256)
    stream: bool = False


class ChatResponse(BaseModel):
    model: str
    reply: str
    blocked: bool
    reason: str = ""


class ErrorBody(BaseModel):
    error: str
    detail: list[dict] | None = None
