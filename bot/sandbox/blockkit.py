"""Block Kit validation for the fake Slack: slack_sdk's own model validators plus the documented limits
slack_sdk does not check, so a payload Slack would refuse is refused here too (``invalid_blocks`` for
messages, ``invalid_arguments`` for views). Standard library and slack_sdk only."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

__all__ = ["at_pointer", "validate_blocks", "validate_message", "validate_view"]

# ------------------------------------------------------------------------------------------------------------
# Limits from Slack's Block Kit / Web API reference. slack_sdk's models check some of these in to_dict(); the
# walker below checks all of them itself, so a limit is enforced even where slack_sdk is silent.
# ------------------------------------------------------------------------------------------------------------
MESSAGE_TEXT_MAX = (
    40_000  # chat.postMessage `text` (longer is truncated by Slack; the API knows msg_too_long)
)
MESSAGE_BLOCKS_MAX = 50  # blocks in one message
VIEW_BLOCKS_MAX = 100  # blocks in a modal or Home tab
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
SECTION_FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
URL_MAX = 3000
ACTION_ID_MAX = 255
BLOCK_ID_MAX = 255
ACTIONS_ELEMENTS_MAX = 25
CONTEXT_ELEMENTS_MAX = 10
INPUT_LABEL_MAX = 2000
INPUT_HINT_MAX = 2000
PLACEHOLDER_MAX = 150
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
OPTION_DESCRIPTION_MAX = 75
OPTIONS_MAX = 100
CONFIRM_TITLE_MAX = 100
CONFIRM_TEXT_MAX = 300
CONFIRM_BUTTON_MAX = 30
VIEW_TITLE_MAX = 24  # also submit and close
VIEW_PRIVATE_METADATA_MAX = 3000
VIEW_CALLBACK_ID_MAX = 255
VIEW_EXTERNAL_ID_MAX = 255

# ------------------------------------------------------------------------------------------------------------
# Block Kit validation
# ------------------------------------------------------------------------------------------------------------
def at_pointer(ptr: str) -> str:
    return f" [json-pointer:{ptr}]"


def _check_len(value: Any, limit: int, what: str, ptr: str, errs: list[str]) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        errs.append(f"{what} must be a string" + at_pointer(ptr))
    elif len(value) > limit:
        errs.append(f"{what} is {len(value)} characters, at most {limit} allowed" + at_pointer(ptr))


def _check_text(
    obj: Any, ptr: str, errs: list[str], *, what: str, limit: int | None = None, plain_only: bool = False
) -> None:
    if not isinstance(obj, dict):
        errs.append(f"{what} must be a text object" + at_pointer(ptr))
        return
    kind = obj.get("type")
    if plain_only and kind != "plain_text":
        errs.append(f"{what} must be a plain_text object, not {kind!r}" + at_pointer(ptr + "/type"))
    elif kind not in ("plain_text", "mrkdwn"):
        errs.append(
            f"{what} has text object type {kind!r}, expected plain_text or mrkdwn" + at_pointer(ptr + "/type")
        )
    text = obj.get("text")
    if not isinstance(text, str):
        errs.append(f"{what} must have a string `text`" + at_pointer(ptr + "/text"))
    elif not text:
        errs.append(f"{what} must be more than 0 characters" + at_pointer(ptr + "/text"))
    elif limit is not None and len(text) > limit:
        errs.append(f"{what} is {len(text)} characters, at most {limit} allowed" + at_pointer(ptr + "/text"))


def _check_option(opt: Any, ptr: str, errs: list[str]) -> None:
    if not isinstance(opt, dict):
        errs.append("option must be an object" + at_pointer(ptr))
        return
    _check_text(opt.get("text"), ptr + "/text", errs, what="option text", limit=OPTION_TEXT_MAX)
    if "value" in opt:
        _check_len(opt["value"], OPTION_VALUE_MAX, "option value", ptr + "/value", errs)
    if "description" in opt:
        _check_text(
            opt["description"],
            ptr + "/description",
            errs,
            what="option description",
            limit=OPTION_DESCRIPTION_MAX,
        )
    _check_len(opt.get("url"), URL_MAX, "option url", ptr + "/url", errs)


def _check_options(options: Any, ptr: str, errs: list[str]) -> None:
    if not isinstance(options, list):
        errs.append("options must be an array" + at_pointer(ptr))
        return
    if len(options) > OPTIONS_MAX:
        errs.append(f"{len(options)} options, at most {OPTIONS_MAX} allowed" + at_pointer(ptr))
    for i, opt in enumerate(options):
        _check_option(opt, f"{ptr}/{i}", errs)


def _check_confirm(confirm: Any, ptr: str, errs: list[str]) -> None:
    if not isinstance(confirm, dict):
        errs.append("confirm must be an object" + at_pointer(ptr))
        return
    _check_text(
        confirm.get("title"),
        ptr + "/title",
        errs,
        what="confirm title",
        limit=CONFIRM_TITLE_MAX,
        plain_only=True,
    )
    _check_text(confirm.get("text"), ptr + "/text", errs, what="confirm text", limit=CONFIRM_TEXT_MAX)
    _check_text(
        confirm.get("confirm"),
        ptr + "/confirm",
        errs,
        what="confirm button",
        limit=CONFIRM_BUTTON_MAX,
        plain_only=True,
    )
    _check_text(
        confirm.get("deny"),
        ptr + "/deny",
        errs,
        what="deny button",
        limit=CONFIRM_BUTTON_MAX,
        plain_only=True,
    )


def _check_element(el: Any, ptr: str, errs: list[str]) -> None:
    if not isinstance(el, dict) or not isinstance(el.get("type"), str):
        errs.append("element must be an object with a `type`" + at_pointer(ptr))
        return
    kind = el["type"]
    _check_len(el.get("action_id"), ACTION_ID_MAX, "action_id", ptr + "/action_id", errs)
    if kind == "button":
        _check_text(
            el.get("text"), ptr + "/text", errs, what="button text", limit=BUTTON_TEXT_MAX, plain_only=True
        )
        _check_len(el.get("value"), BUTTON_VALUE_MAX, "button value", ptr + "/value", errs)
        _check_len(el.get("url"), URL_MAX, "button url", ptr + "/url", errs)
        _check_len(
            el.get("accessibility_label"),
            BUTTON_TEXT_MAX,
            "accessibility_label",
            ptr + "/accessibility_label",
            errs,
        )
        if el.get("style") is not None and el["style"] not in ("primary", "danger"):
            errs.append(f"button style {el['style']!r} is not primary or danger" + at_pointer(ptr + "/style"))
    if "placeholder" in el:
        _check_text(
            el["placeholder"],
            ptr + "/placeholder",
            errs,
            what="placeholder",
            limit=PLACEHOLDER_MAX,
            plain_only=True,
        )
    if "options" in el:
        _check_options(el["options"], ptr + "/options", errs)
    if "option_groups" in el:
        groups = el["option_groups"]
        if not isinstance(groups, list):
            errs.append("option_groups must be an array" + at_pointer(ptr + "/option_groups"))
        else:
            for i, group in enumerate(groups):
                gptr = f"{ptr}/option_groups/{i}"
                if not isinstance(group, dict):
                    errs.append("option group must be an object" + at_pointer(gptr))
                    continue
                _check_text(
                    group.get("label"),
                    gptr + "/label",
                    errs,
                    what="option group label",
                    limit=OPTION_TEXT_MAX,
                    plain_only=True,
                )
                _check_options(group.get("options"), gptr + "/options", errs)
    if isinstance(el.get("initial_option"), dict):
        _check_option(el["initial_option"], ptr + "/initial_option", errs)
    if "confirm" in el:
        _check_confirm(el["confirm"], ptr + "/confirm", errs)


def _check_elements(elements: Any, ptr: str, errs: list[str], *, limit: int, what: str) -> list:
    if not isinstance(elements, list) or not elements:
        errs.append(f"{what} must have a non-empty `elements` array" + at_pointer(ptr))
        return []
    if len(elements) > limit:
        errs.append(f"{what} has {len(elements)} elements, at most {limit} allowed" + at_pointer(ptr))
    return elements


def _check_block(block: dict, ptr: str, errs: list[str]) -> None:
    kind = block.get("type")
    if kind == "section":
        has_text, has_fields = "text" in block, "fields" in block
        if not has_text and not has_fields:
            errs.append("section must define either `text` or `fields`" + at_pointer(ptr))
        if has_text:
            _check_text(block["text"], ptr + "/text", errs, what="section text", limit=SECTION_TEXT_MAX)
        if has_fields:
            fields = block["fields"]
            if not isinstance(fields, list):
                errs.append("section fields must be an array" + at_pointer(ptr + "/fields"))
            else:
                if len(fields) > SECTION_FIELDS_MAX:
                    errs.append(
                        f"section has {len(fields)} fields, at most {SECTION_FIELDS_MAX} allowed"
                        + at_pointer(ptr + "/fields")
                    )
                for i, f in enumerate(fields):
                    _check_text(
                        f, f"{ptr}/fields/{i}", errs, what="section field", limit=SECTION_FIELD_TEXT_MAX
                    )
        if "accessory" in block:
            _check_element(block["accessory"], ptr + "/accessory", errs)
    elif kind == "header":
        _check_text(
            block.get("text"), ptr + "/text", errs, what="header text", limit=HEADER_TEXT_MAX, plain_only=True
        )
    elif kind == "actions":
        seen: dict[str, int] = {}
        elements = _check_elements(
            block.get("elements"), ptr + "/elements", errs, limit=ACTIONS_ELEMENTS_MAX, what="actions block"
        )
        for i, el in enumerate(elements):
            eptr = f"{ptr}/elements/{i}"
            _check_element(el, eptr, errs)
            aid = el.get("action_id") if isinstance(el, dict) else None
            if isinstance(aid, str):
                if aid in seen:
                    errs.append(
                        f"duplicate action_id {aid!r} in one block (also elements/{seen[aid]})"
                        + at_pointer(eptr + "/action_id")
                    )
                seen.setdefault(aid, i)
    elif kind == "context":
        elements = _check_elements(
            block.get("elements"), ptr + "/elements", errs, limit=CONTEXT_ELEMENTS_MAX, what="context block"
        )
        for i, el in enumerate(elements):
            eptr = f"{ptr}/elements/{i}"
            kind_ = el.get("type") if isinstance(el, dict) else None
            if kind_ in ("plain_text", "mrkdwn"):
                _check_text(el, eptr, errs, what="context text")
            elif kind_ != "image":
                errs.append(f"context elements must be text objects or images, not {kind_!r}" + at_pointer(eptr))
    elif kind == "input":
        _check_text(
            block.get("label"),
            ptr + "/label",
            errs,
            what="input label",
            limit=INPUT_LABEL_MAX,
            plain_only=True,
        )
        if "hint" in block:
            _check_text(
                block["hint"], ptr + "/hint", errs, what="input hint", limit=INPUT_HINT_MAX, plain_only=True
            )
        if "element" not in block:
            errs.append("input block must have an `element`" + at_pointer(ptr))
        else:
            _check_element(block["element"], ptr + "/element", errs)


class _CaptureUnknown(logging.Filter):
    """slack_sdk's parsers *log* unknown block/element types and skip them; while the fake validates (on this
    thread), turn those log records into validation errors instead of stderr noise."""

    local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        sink = getattr(self.local, "sink", None)
        if sink is None:
            return True
        sink.append(record.getMessage())
        return False


_capture = _CaptureUnknown()
for _name in (
    "slack_sdk.models",
    "slack_sdk.models.blocks.blocks",
    "slack_sdk.models.blocks.block_elements",
    "slack_sdk.models.blocks.basic_components",
    "slack_sdk.models.views",
):
    _logger = logging.getLogger(_name)
    if _capture not in _logger.filters:
        _logger.addFilter(_capture)


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _sdk_errors(build: Callable[[], Any], ptr: str) -> tuple[Any, list[str]]:
    """Build a slack_sdk model and run its validators (they run in to_dict()).

    Returns the model (None when slack_sdk skipped it as unknown) and what it rejected."""
    captured: list[str] = []
    obj = None
    _CaptureUnknown.local.sink = captured
    try:
        obj = build()
        if obj is not None:
            obj.to_dict()
        errors = []
    except SlackObjectFormationError as e:
        errors = [f"{e} (slack_sdk)" + at_pointer(ptr)]
    except Exception as e:  # malformed enough that the model constructor itself fails
        errors = [_shorten(f"slack_sdk could not parse it: {type(e).__name__}: {e}") + at_pointer(ptr)]
    finally:
        _CaptureUnknown.local.sink = None
    return obj, errors + [_shorten(f"{msg} (slack_sdk)") + at_pointer(ptr) for msg in captured]


def validate_blocks(blocks: Any, *, limit: int = MESSAGE_BLOCKS_MAX, pointer: str = "/blocks") -> list[str]:
    """Everything wrong with a blocks array, as Slack-style messages ending in ``[json-pointer:...]``."""
    if not isinstance(blocks, list):
        return ["blocks must be a JSON array" + at_pointer(pointer)]
    errs: list[str] = []
    if len(blocks) > limit:
        errs.append(f"{len(blocks)} blocks, at most {limit} allowed" + at_pointer(pointer))
    block_ids: dict[str, int] = {}
    for i, block in enumerate(blocks):
        ptr = f"{pointer}/{i}"
        if not isinstance(block, dict):
            errs.append("block must be an object" + at_pointer(ptr))
            continue
        if not isinstance(block.get("type"), str):
            errs.append("block must have a string `type`" + at_pointer(ptr + "/type"))
            continue
        block_id = block.get("block_id")
        _check_len(block_id, BLOCK_ID_MAX, "block_id", ptr + "/block_id", errs)
        if isinstance(block_id, str):
            if block_id in block_ids:
                errs.append(
                    f"duplicate block_id {block_id!r} (also {pointer}/{block_ids[block_id]})"
                    + at_pointer(ptr + "/block_id")
                )
            block_ids.setdefault(block_id, i)
        _check_block(block, ptr, errs)
        parsed, sdk_errs = _sdk_errors(functools.partial(Block.parse, block), ptr)
        if parsed is None:  # slack_sdk logged "Unknown block detected and skipped ({the whole block})"
            errs.append(f"unknown block type {block['type']!r}" + at_pointer(ptr + "/type"))
            sdk_errs = [m for m in sdk_errs if not m.startswith("Unknown block detected")]
        errs.extend(sdk_errs)
    return list(dict.fromkeys(errs))


def validate_message(payload: dict) -> list[str]:
    """Problems with a message payload (chat.postMessage & co, or a response_url body): text, blocks and the
    blocks inside legacy attachments."""
    errs: list[str] = []
    text = payload.get("text")
    if isinstance(text, str) and len(text) > MESSAGE_TEXT_MAX:
        errs.append(
            f"message text is {len(text)} characters, at most {MESSAGE_TEXT_MAX} allowed" + at_pointer("/text")
        )
    if payload.get("blocks") is not None:
        errs.extend(validate_blocks(payload["blocks"]))
    attachments = payload.get("attachments")
    if attachments is not None:
        if not isinstance(attachments, list):
            errs.append("attachments must be a JSON array" + at_pointer("/attachments"))
        else:
            for i, att in enumerate(attachments):
                if isinstance(att, dict) and att.get("blocks") is not None:
                    errs.extend(validate_blocks(att["blocks"], pointer=f"/attachments/{i}/blocks"))
    return errs


def validate_view(view: Any) -> list[str]:
    """Problems with a view payload (modal or Home tab)."""
    if not isinstance(view, dict):
        return ["view must be a JSON object" + at_pointer("/view")]
    errs: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        errs.append(f"view type must be modal or home, not {kind!r}" + at_pointer("/view/type"))
    blocks = view.get("blocks")
    if blocks is None:
        errs.append("view must have `blocks`" + at_pointer("/view/blocks"))
    else:
        errs.extend(validate_blocks(blocks, limit=VIEW_BLOCKS_MAX, pointer="/view/blocks"))
    if kind == "modal":
        if "title" not in view:
            errs.append("modal must have a `title`" + at_pointer("/view/title"))
        else:
            _check_text(
                view["title"], "/view/title", errs, what="modal title", limit=VIEW_TITLE_MAX, plain_only=True
            )
        for key in ("submit", "close"):
            if view.get(key) is not None:
                _check_text(
                    view[key],
                    f"/view/{key}",
                    errs,
                    what=f"modal {key}",
                    limit=VIEW_TITLE_MAX,
                    plain_only=True,
                )
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            errs.append("a modal with input blocks must have `submit`" + at_pointer("/view/submit"))
    _check_len(
        view.get("private_metadata"),
        VIEW_PRIVATE_METADATA_MAX,
        "private_metadata",
        "/view/private_metadata",
        errs,
    )
    _check_len(view.get("callback_id"), VIEW_CALLBACK_ID_MAX, "callback_id", "/view/callback_id", errs)
    _check_len(view.get("external_id"), VIEW_EXTERNAL_ID_MAX, "external_id", "/view/external_id", errs)
    errs.extend(_sdk_errors(lambda: View(**view), "/view")[1])
    return list(dict.fromkeys(errs))
