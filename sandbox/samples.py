"""Real, decodable sample media, so a post's media URLs can point at the sandbox.

The API fetches and decodes every media URL when a post is created, so the platforms'
fake byte strings elsewhere in the sandbox will not do there.
"""

from __future__ import annotations

from functools import lru_cache
from io import BytesIO
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from PIL import Image

router = APIRouter(prefix="/samples", tags=["samples"])

FORMATS = {"jpg": ("JPEG", "image/jpeg"), "png": ("PNG", "image/png"), "gif": ("GIF", "image/gif")}
# An ISO base-media header and padding: enough to look like an MP4 to anyone sniffing it.
VIDEO = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(4096)
Side = Annotated[int, Path(ge=1, le=8000)]


@lru_cache(maxsize=64)
def sample_image(width: int, height: int, fmt: str) -> bytes:
    # Detail, not a flat colour: a flat JPEG compresses below Google Business Profile's
    # 10 KB minimum, and real photos do not look like that either.
    detail = Image.effect_mandelbrot((width, height), (-2.0, -1.5, 1.0, 1.5), 100)
    gradient = Image.linear_gradient("L")
    down = gradient.resize((width, height))
    across = gradient.transpose(Image.Transpose.ROTATE_90).resize((width, height))
    image = Image.merge("RGB", (detail, across, down))
    out = BytesIO()
    image.save(out, format=FORMATS[fmt][0])
    return out.getvalue()


@router.get("/image/{width}x{height}.{fmt}")
async def image(
    width: Side,
    height: Side,
    fmt: Literal["jpg", "png", "gif"],
    pad: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> Response:
    """`pad` appends that many bytes after the image's end, which decoders ignore: a file
    over a platform's byte cap without the time to encode a huge image."""
    return Response(sample_image(width, height, fmt) + bytes(pad), media_type=FORMATS[fmt][1])


@router.get("/video/{name}.mp4")
async def video(name: str) -> Response:
    return Response(VIDEO, media_type="video/mp4")


# A file whose bytes a test changes behind one URL (an image swapped after its approval, say):
# PUT /samples/swappable/{name}?size=WxH picks the image it serves; reset forgets it.
SWAPPABLE = "samples:swappable"


@router.put("/swappable/{name}", include_in_schema=False)
async def swap(
    name: str, request: Request, size: Annotated[str, Query(pattern=r"^\d{1,4}x\d{1,4}$")]
) -> Response:
    request.app.state.sandbox.extras.setdefault(SWAPPABLE, {})[name] = size
    return Response(status_code=204)


@router.get("/swappable/{name}")
async def swappable(name: str, request: Request) -> Response:
    size = request.app.state.sandbox.extras.get(SWAPPABLE, {}).get(name, "640x640")
    width, height = (int(side) for side in size.split("x"))
    return Response(sample_image(width, height, "jpg"), media_type="image/jpeg")
