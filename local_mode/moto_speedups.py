"""Speed-ups of moto for local mode: the same answers, computed once instead of at every request.

A saturated local mode spends most of its time in moto (about two thirds, measured with py-spy): an `UpdateItem`
parses its update expression twice and its condition twice, deep-copies the parsed tree, rebuilds each validator's
map of node types at every node, and re-runs the checks that depend on the expression alone; a read serializes each
attribute value by walking botocore's shape member by member. These replacements cache what depends only on the
expression strings, copy trees with pickle, and write attribute values straight to their wire JSON. They change no
answer: `tests/integration/test_moto_speedups.py` runs the same requests with and without them and compares every
response and the tables.
"""

from __future__ import annotations

import base64
import functools
import pickle
from collections import deque
from typing import Any

import moto.core.responses as moto_responses
import moto.dynamodb.parsing.validators as moto_validators
from moto.core.serialize import BaseJSONSerializer
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node  # type: ignore[attr-defined]
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
from moto.sqs import models as moto_sqs

_MOTO_JSON_STRUCTURE = BaseJSONSerializer._serialize_type_structure
_MOTO_METHOD_NAMES = moto_responses.method_names_from_class  # type: ignore[attr-defined]
_MOTO_MAKE = UpdateExpressionParser.make
_MOTO_MAKE_DESCRIPTOR = UpdateExpressionParser.__dict__["make"]  # a classmethod
_MOTO_LEX = ConditionExpressionParser._lex_condition_expression
_MOTO_VALIDATOR_DEEPCOPY = moto_validators.deepcopy  # type: ignore[attr-defined]
_MOTO_VALIDATE = moto_validators.UpdateExpressionValidator.validate
_STATIC_CHECKS = (
    moto_validators.ActionCountValidator,
    moto_validators.OverlappingPathsValidator,
    moto_validators.UpdateHashRangeKeyValidator,
)
_MOTO_RETAINED = moto_sqs.SQSBackend.is_message_valid_based_on_retention_period
_MOTO_TRAVERSER = (DepthFirstTraverser.nodes_to_be_processed, DepthFirstTraverser.process)


class _NotPlain(Exception):
    """An attribute value the fast path does not know: moto's own serializer takes it."""


def _attribute_json(value: Any) -> dict[str, Any]:  # noqa: PLR0911 - one return per attribute type
    """A DynamoDB attribute value (moto's `{type: value}`, binary as bytes) as its wire JSON: what moto's serializer
    gives after walking the AttributeValue shape member by member (most of the time of a read of a logged item)."""
    if type(value) is not dict or len(value) != 1:
        raise _NotPlain
    ((kind, inner),) = value.items()
    if kind in ("S", "N"):
        return {kind: str(inner) if inner not in (None, {}, []) else inner}
    if kind == "M":
        return {kind: {k: _attribute_json(v) for k, v in inner.items()}}
    if kind == "L":
        return {kind: [_attribute_json(v) for v in inner]}
    if kind == "B":
        return {kind: _base64(inner)}
    if kind in ("SS", "NS"):
        return {kind: [str(v) if v not in (None, {}, []) else v for v in inner]}
    if kind == "BS":
        return {kind: [_base64(v) for v in inner]}
    if kind in ("BOOL", "NULL"):
        return {kind: inner}
    raise _NotPlain


def _base64(value: str | bytes) -> str:
    return base64.b64encode(value if isinstance(value, bytes) else value.encode()).strip().decode()


def _json_structure(self: BaseJSONSerializer, serialized: Any, value: Any, shape: Any, key: str) -> None:
    if key and shape.name == "AttributeValue" and value is not None:
        try:
            serialized[self.get_serialized_name(shape, key)] = _attribute_json(value)
            return
        except _NotPlain:
            pass
    _MOTO_JSON_STRUCTURE(self, serialized, value, shape, key)


# moto parses every update expression twice a call (and condition expressions twice), deep-copies the parsed tree
# before validating it, and lists a handler class's methods on every request: the same strings and classes each time.
@functools.lru_cache(maxsize=256)
def _method_names(clazz: object) -> list[str]:
    return _MOTO_METHOD_NAMES(clazz)


@functools.lru_cache(maxsize=1024)
def _parsed_update(expression: str) -> bytes:
    return pickle.dumps(_MOTO_MAKE(expression), protocol=pickle.HIGHEST_PROTOCOL)


def _make_update(expression: str) -> Any:
    """A fresh tree of `expression` each call, as moto's own parser gives (callers may change it)."""
    return pickle.loads(_parsed_update(expression))


@functools.lru_cache(maxsize=1024)
def _lexed(expression: str) -> tuple[Any, ...]:
    return tuple(_MOTO_LEX(ConditionExpressionParser(expression, None, None)))


def _lex_condition(self: ConditionExpressionParser) -> Any:
    return deque(_lexed(self.condition_expression))  # immutable tokens (their `children` lists stay empty)


def _validator_deepcopy(value: Any, memo: Any = None) -> Any:
    if isinstance(value, Node):  # an update expression's tree: pickling copies it several times faster
        return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    return _MOTO_VALIDATOR_DEEPCOPY(value, memo)


def _processing(self: DepthFirstTraverser) -> dict[type, Any]:
    """A validator's processing map, made once per validator instead of at every node of the tree (a fixed map of
    node types to the validator's own methods)."""
    found = self.__dict__.get("_postbox_map")
    if found is None:
        found = self.__dict__["_postbox_map"] = self._processing_map()
        self.__dict__["_postbox_types"] = tuple(found)
    return found  # type: ignore[no-any-return]


def _nodes_to_be_processed(self: DepthFirstTraverser) -> tuple[type, ...]:
    types = self.__dict__.get("_postbox_types")
    if types is None:
        _processing(self)
        types = self.__dict__["_postbox_types"]
    return types  # type: ignore[no-any-return]


def _process(self: DepthFirstTraverser, node: Any) -> Any:
    for class_key, processor in _processing(self).items():
        if isinstance(node, class_key):
            return processor(node)
    return None


_passed_static_checks: set[tuple[bytes, tuple[tuple[str, str], ...], tuple[str, ...]]] = set()


def _validate_update(self: moto_validators.UpdateExpressionValidator) -> Any:
    """moto's validation of an update expression, without the checks that depend on the expression, its attribute
    names and the table's keys alone (clause counts, overlapping paths, key attributes) once the same ones passed
    them: those checks walk the tree once per nested clause (their cost grows with the square of the actions)."""
    tree = self.node_to_validate
    names = self.expression_attribute_names or {}
    key = (
        pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL),
        tuple(sorted(names.items())),
        tuple(self.table.table_key_attrs),
    )
    known = key in _passed_static_checks
    for processor in self.processors:
        if isinstance(processor, _STATIC_CHECKS):
            if known:
                continue
        elif not known:
            if len(_passed_static_checks) > 4096:
                _passed_static_checks.clear()
            _passed_static_checks.add(key)  # the static checks all come first, and have passed
            known = True
        tree = processor.traverse(tree)
    return tree


def _retained(self: moto_sqs.SQSBackend, queue_name: str, message: Any) -> bool:
    """moto's retention check of each received message, reading the queue's retention period itself instead of
    computing every queue attribute (three counts over all the queue's messages) to get it."""
    retention = self.get_queue(queue_name).message_retention_period  # type: ignore[attr-defined]
    return bool(retention + message.sent_timestamp / 1000 > moto_sqs.unix_time())  # type: ignore[attr-defined]


def install() -> None:
    BaseJSONSerializer._serialize_type_structure = _json_structure  # type: ignore[method-assign]
    moto_responses.method_names_from_class = _method_names  # type: ignore[attr-defined]
    UpdateExpressionParser.make = staticmethod(_make_update)
    ConditionExpressionParser._lex_condition_expression = _lex_condition  # type: ignore[method-assign]
    moto_validators.deepcopy = _validator_deepcopy  # type: ignore[attr-defined,assignment]
    DepthFirstTraverser.nodes_to_be_processed = _nodes_to_be_processed
    DepthFirstTraverser.process = _process
    moto_validators.UpdateExpressionValidator.validate = _validate_update  # type: ignore[method-assign,assignment]
    moto_sqs.SQSBackend.is_message_valid_based_on_retention_period = _retained  # type: ignore[method-assign]


def uninstall() -> None:
    BaseJSONSerializer._serialize_type_structure = _MOTO_JSON_STRUCTURE  # type: ignore[method-assign]
    moto_responses.method_names_from_class = _MOTO_METHOD_NAMES  # type: ignore[attr-defined]
    UpdateExpressionParser.make = _MOTO_MAKE_DESCRIPTOR
    ConditionExpressionParser._lex_condition_expression = _MOTO_LEX  # type: ignore[method-assign]
    moto_validators.deepcopy = _MOTO_VALIDATOR_DEEPCOPY  # type: ignore[attr-defined]
    moto_validators.UpdateExpressionValidator.validate = _MOTO_VALIDATE  # type: ignore[method-assign]
    moto_sqs.SQSBackend.is_message_valid_based_on_retention_period = _MOTO_RETAINED  # type: ignore[method-assign]
    DepthFirstTraverser.nodes_to_be_processed, DepthFirstTraverser.process = _MOTO_TRAVERSER
