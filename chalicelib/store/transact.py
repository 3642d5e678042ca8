"""TransactWriteItems actions built from the pynamodb models' attribute definitions, without model instances.

The models stay the persistence schema: each value is serialised by its model's own attribute (its name in the
table, its type, its default, whether it may be null), conditions and updates by pynamodb's expressions, and the
request goes through pynamodb's connection (which turns a cancellation into `TransactWriteError` with its reasons).
What is skipped is an instance per item, built attribute by attribute only to be serialised again, and
`TransactWrite`'s bookkeeping: the unit of work's commit is the submission's hot path, four or five items each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action, Update
from pynamodb.models import Model

Request = dict[str, Any]  # one action's body: {"TableName": ..., "Item" | "Key": ..., expressions}


def serialize(model: type[Model], values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The item as DynamoDB takes it, as `model(**values).serialize()` would make it: values not given take the
    attribute's default, None leaves the attribute out, and a missing required value or an unknown name is refused."""
    attributes = model.get_attributes()
    unknown = values.keys() - attributes.keys()
    if unknown:
        raise ValueError(f"{model.__name__} has no attribute {sorted(unknown)}")
    item: dict[str, dict[str, Any]] = {}
    for name, attribute in attributes.items():
        if name in values:
            value = values[name]
        else:
            default = attribute.default_for_new if attribute.default_for_new is not None else attribute.default
            value = default() if callable(default) else default
        serialized = None if value is None else attribute.serialize(value)
        if serialized is None:
            if not attribute.null:
                raise ValueError(f"{model.__name__}.{name} is required")
            continue
        item[attribute.attr_name] = {attribute.attr_type: serialized}
    return item


def put(model: type[Model], values: Mapping[str, Any], condition: Condition | None = None,
        return_values_on_failure: str | None = None) -> Request:
    """A Put of the whole item, on `condition`."""
    request: Request = {"TableName": model.Meta.table_name, "Item": serialize(model, values)}
    return _with_expressions(request, condition, (), return_values_on_failure)


def update(model: type[Model], hash_key: Any, range_key: Any, actions: Sequence[Action],
           condition: Condition | None = None, return_values_on_failure: str | None = None) -> Request:
    """An Update of some attributes of the item at (`hash_key`, `range_key`), on `condition`."""
    attributes = model.get_attributes().values()
    keys = ((next(a for a in attributes if a.is_hash_key), hash_key), (next(a for a in attributes if a.is_range_key), range_key))
    key = {attribute.attr_name: {attribute.attr_type: attribute.serialize(value)} for attribute, value in keys}
    request: Request = {"TableName": model.Meta.table_name, "Key": key}
    return _with_expressions(request, condition, actions, return_values_on_failure)


def _with_expressions(request: Request, condition: Condition | None, actions: Sequence[Action],
                      return_values_on_failure: str | None) -> Request:
    names: dict[str, str] = {}  # attribute name -> placeholder, as pynamodb's expressions fill it
    values: dict[str, Any] = {}
    if condition is not None:
        request["ConditionExpression"] = condition.serialize(names, values)
    if actions:
        request["UpdateExpression"] = Update(*actions).serialize(names, values)
    if names:
        request["ExpressionAttributeNames"] = {placeholder: name for name, placeholder in names.items()}
    if values:
        request["ExpressionAttributeValues"] = values
    if return_values_on_failure is not None:
        request["ReturnValuesOnConditionCheckFailure"] = return_values_on_failure
    return request
