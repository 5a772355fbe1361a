#!/usr/bin/env python3
# Validates JSON documents against the OCI runtime-spec schema with
# python3-jsonschema. The schema's $refs ("defs.json#/...", "config-linux.json")
# are relative to its own directory, so they resolve from there.
#
# Usage: validate-schema.py SCHEMA.json DOC.json...
# Prints one line per violation ("DOC: .path: message"); exit 1 if any.
import json
import os
import sys
import warnings

import jsonschema

# RefResolver is deprecated in newer jsonschema (4.18+) but is what Debian's
# python3-jsonschema (4.10) has; it still works in both.
warnings.filterwarnings("ignore", category=DeprecationWarning)


def main():
    schema_path = os.path.abspath(sys.argv[1])
    with open(schema_path) as f:
        schema = json.load(f)
    resolver = jsonschema.RefResolver(
        base_uri="file://" + os.path.dirname(schema_path) + "/", referrer=schema
    )
    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema, resolver=resolver)
    bad = 0
    for doc_path in sys.argv[2:]:
        with open(doc_path) as f:
            doc = json.load(f)
        for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
            path = "".join(
                "[%d]" % p if isinstance(p, int) else "." + p for p in e.absolute_path
            )
            print("%s: %s: %s" % (doc_path, path or ".", e.message))
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
