/*
 * helpers.h - what the parser tests share: YAML read into jansson (so test
 * fixtures written like CrowdSec's pkg/parser/testdata load through
 * exprenv_event_from_json), the grok library of config/patterns (+ the hub's
 * patterns), and paths from the environment.
 */
#ifndef PHALANX_TESTS_PARSER_HELPERS_H
#define PHALANX_TESTS_PARSER_HELPERS_H

#include "common/common.h"

#include <jansson.h>

#include "grok/grok.h"

/* Every document of a YAML file as a JSON array (plain scalars typed: int, bool, null); NULL on
 * error. */
json_t *ptest_yaml_file_to_json(const char *path, char *err, size_t errlen);
/* $PHALANX_SOURCE_ROOT, or "." */
const char *ptest_source_root(void);
/* $HUB, or $PHALANX_SOURCE_ROOT/../shared/hub; NULL when that has no parsers/ directory. */
const char *ptest_hub_dir(void);
/* A grok library with config/patterns and, when hub_patterns, the hub's patterns/. */
struct grok_library *ptest_grok_library(bool hub_patterns);

#endif
