"""One video frame through the sampler: decide, then decode, resize and encode only what is
sent. Pure and synchronous (worker threads), shared by the service and the benchmark."""

from __future__ import annotations

from dataclasses import dataclass

from . import image
from .policy import RateConfig, SessionState, step
from .probe import Header


@dataclass(frozen=True)
class Output:
    max_side: int = 512
    budget: int = 30_000   # bytes per JPEG
    quality: int = 80      # starting quality, lowered to meet the budget
    min_quality: int = 30
    pad: bool = False      # pad to exactly max_side x max_side


@dataclass
class Spent:
    """Pixels the decoder produced for one frame (the thumbnail only when one was made)."""

    pixels: int = 0


def sample(state: SessionState, data: bytes, head: Header, now: float, rate: RateConfig,
           out: Output, spent: Spent | None = None) -> tuple[str, image.Encoded | None]:
    """(reason, JPEG or None when dropped); updates the session's motion memory and quality."""
    spent = spent if spent is not None else Spent()

    def thumb() -> image.Gray:
        spent.pixels += image.thumbnail_cost(head).pixels
        return image.thumbnail(data, head)

    decision = step(state, now, rate, thumb)
    if not decision.emit:
        return decision.reason, None
    spent.pixels += image.render_cost(head, out.max_side).pixels
    enc = image.render(data, head, out.max_side, out.budget, state.quality or out.quality,
                       out.min_quality, out.pad)
    # Next time start from the quality that fit, creeping back up when there is room.
    state.quality = min(out.quality, enc.quality + (5 if len(enc.jpeg) < out.budget // 2 else 0))
    return decision.reason, enc


def still(data: bytes, head: Header, out: Output) -> image.Encoded:
    """An uploaded image: the same bound as video, never rate-dropped."""
    return image.render(data, head, out.max_side, out.budget, out.quality, out.min_quality,
                        out.pad)
