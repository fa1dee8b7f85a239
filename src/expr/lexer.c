/*
 * lexer.c - tokenizer of the expression language (being written).
 */
#include "common/common.h"
