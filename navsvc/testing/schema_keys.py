"""Which keys a JSON document writes and which its JSON Schema documents (test support)."""

from __future__ import annotations


def written_and_documented_keys(document, schema: dict, path: str = "$") -> tuple[set[str], set[str]]:
    """The key paths a document writes and the key paths its schema documents, at every
    object level the schema describes.

    Parameters
    ----------
    document : object
        The parsed JSON document (or a part of it).
    schema : dict
        Its JSON Schema (or the part describing it); ``properties``, ``additionalProperties``
        and array ``items`` are followed, ``$ref`` is not.
    path : str
        The path of ``document``; keys are named ``path.key``. The values of a map
        (``additionalProperties``) share one path, ``path.*``, and the items of an array
        one path, ``path[]``.

    Returns
    -------
    tuple of (set of str, set of str)
        The paths written and the paths documented. A written path that is not documented
        is a key an integrator cannot look up; a documented path never written is a key
        renamed or dropped on one side (or one written only in some cases).
    """
    written: set[str] = set()
    documented: set[str] = set()
    if isinstance(document, list) and isinstance(schema.get("items"), dict):
        for item in document:
            more_written, more_documented = written_and_documented_keys(item, schema["items"], f"{path}[]")
            written |= more_written
            documented |= more_documented
        return written, documented
    if not isinstance(document, dict):
        return written, documented
    properties, each = schema.get("properties", {}), schema.get("additionalProperties")
    documented |= {f"{path}.{key}" for key in properties}
    for key, child in document.items():
        child_path, child_schema = f"{path}.{key}", properties.get(key)
        if child_schema is None and isinstance(each, dict):
            child_path, child_schema = f"{path}.*", each
        else:
            written.add(child_path)
        if child_schema is not None:
            more_written, more_documented = written_and_documented_keys(child, child_schema, child_path)
            written |= more_written
            documented |= more_documented
    return written, documented
